-- POST /upload for apache2 (mod_lua): answer the number of body bytes
-- apache2 read. r:requestbody() returns only once the whole body is in.
-- It reads Content-Length bodies only (nil for a chunked one, and for an
-- empty one), so a body without a length is refused with 411 (RFC 9110
-- 15.5.12) instead of being counted wrong.
require "apache2"

function handle(r)
    if r.method ~= "POST" then
        return 405
    end
    local length = r.headers_in["Content-Length"]
    if length == nil then
        return 411
    end
    local body = r:requestbody()
    local n = 0
    if body ~= nil then
        n = #body
    elseif length ~= "0" then
        return 500
    end
    r.content_type = "text/plain"
    r:write(tostring(n))
    return apache2.OK
end
