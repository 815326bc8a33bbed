//! The contract's three routes.

use std::convert::Infallible;

use hyper::body::HttpBody;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Body, Method, Request, Response, StatusCode};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// The body of GET /json.
struct Message {
    message: &'static str,
}

// What #[derive(Serialize)] would generate, written out: the derive is a
// proc macro that needs syn, a third of a cold build on two cores.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Message", 1)?;
        st.serialize_field("message", self.message)?;
        st.end()
    }
}

/// Answers one request. Errors become responses, so the service never
/// fails the connection.
pub async fn handle(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => reply(StatusCode::OK, "text/plain", Body::from("Hello, World!")),
        (&Method::GET, "/json") => {
            // Serialised per request, as a real handler would (and as the
            // Go and Node columns do).
            match serde_json::to_vec(&Message { message: "Hello, World!" }) {
                Ok(b) => reply(StatusCode::OK, "application/json", Body::from(b)),
                Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", Body::from(e.to_string())),
            }
        }
        (&Method::POST, "/upload") => match count(req.into_body()).await {
            Ok(n) => reply(StatusCode::OK, "text/plain", Body::from(n.to_string())),
            Err(e) => reply(StatusCode::BAD_REQUEST, "text/plain", Body::from(format!("reading body: {e}"))),
        },
        (_, "/" | "/json") => not_allowed("GET"),
        (_, "/upload") => not_allowed("POST"),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", Body::from("not found")),
    };
    Ok(resp)
}

/// Reads the whole body and returns its length, chunk by chunk as hyper
/// hands them over: nothing is buffered, and on HTTP/2 each chunk read
/// gives its bytes back to the peer's flow-control window (RFC 9113
/// section 5.2).
async fn count(mut body: Body) -> Result<u64, hyper::Error> {
    let mut n = 0u64;
    while let Some(chunk) = body.data().await {
        n += chunk?.len() as u64;
    }
    Ok(n)
}

fn reply(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = reply(StatusCode::METHOD_NOT_ALLOWED, "text/plain", Body::from("method not allowed"));
    resp.headers_mut().insert(ALLOW, HeaderValue::from_static(allow));
    resp
}
