// POST /upload for nginx: answer the number of body bytes nginx read.
// js_content has read the whole body before length runs; requestBuffer holds
// it because nginx.conf keeps bodies in one memory buffer.
function length(r) {
    var body = r.requestBuffer;
    var n = 0;
    if (body !== undefined) {
        n = body.length;
    } else if (r.variables.request_body_file) {
        // Spilled to a file despite the buffer size: refuse to guess.
        r.return(500, "request body went to a file\n");
        return;
    }
    r.headersOut['Content-Type'] = 'text/plain';
    r.return(200, String(n));
}

export default { length };
