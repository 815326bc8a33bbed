# The matrix contract as a plain Rack application for puma: no framework,
# so the column measures puma itself.
#
# GET / answers "Hello, World!" as text/plain, GET /json answers
# {"message":"Hello, World!"} as application/json, POST /upload reads the
# whole body and answers its length in bytes.
require 'json'

HELLO = 'Hello, World!'.freeze

def respond(status, type, body)
  [status, { 'Content-Type' => type, 'Content-Length' => body.bytesize.to_s }, [body]]
end

# upload_length reads rack.input to its end in 64 KiB pieces into one
# reused buffer. puma has read the whole body before calling the app (into
# memory, or a file under Dir.tmpdir past 112 KiB), so this counts what it
# received.
def upload_length(input)
  return 0 unless input

  n = 0
  buf = String.new(capacity: 65_536)
  n += buf.bytesize while input.read(65_536, buf)
  n
end

run(lambda do |env|
  method = env['REQUEST_METHOD']
  case env['PATH_INFO']
  when '/'
    next respond(200, 'text/plain', HELLO) if method == 'GET'
  when '/json'
    # Serialised per request, as a real handler would.
    next respond(200, 'application/json', JSON.generate({ 'message' => 'Hello, World!' })) if method == 'GET'
  when '/upload'
    next respond(200, 'text/plain', upload_length(env['rack.input']).to_s) if method == 'POST'
  end
  respond(404, 'text/plain', "not found\n")
end)
