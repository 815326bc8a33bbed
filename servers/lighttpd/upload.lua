-- POST /upload for lighttpd (mod_magnet): answer the number of body bytes
-- lighttpd received. Until the whole body is in, req_body.collect is false
-- and lighttpd runs this script again once it has arrived.
local r = lighty.r
if r.req_attr["request.method"] ~= "POST" then
    r.resp_header["Content-Type"] = "text/plain"
    r.resp_body.set({ "method not allowed\n" })
    return 405
end
if not r.req_body.collect then
    return 0
end
r.resp_header["Content-Type"] = "text/plain"
r.resp_body.set({ tostring(r.req_body.bytes_in) })
return 200
