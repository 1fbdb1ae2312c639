//! Every response the HTTP tests' helpers receive is checked against the
//! server's OpenAPI document (`kg_approval_server::routes::document()`):
//! the route and method must be documented, the status must be one the
//! operation lists, and a JSON body must validate against that response's
//! schema (JSON Schema 2020-12, with the document's components). An error
//! from a path no route has must be the `Error` shape.

use serde_json::{Value, json};

/// Panics (naming the route, the status and what does not match) unless
/// the response conforms to the document.
pub fn check(method: &str, path: &str, status: u16, content_type: Option<&str>, body: &[u8]) {
    let doc = kg_approval_server::routes::document();
    let route = path.split('?').next().unwrap_or(path);
    let operation = &doc["paths"][route][method.to_lowercase()];
    let schema = if operation.is_null() {
        // No such route (the fallback's 404, a 405): an error, in the error shape.
        assert!(status >= 400, "{method} {route}: {status} from a route the document does not have");
        json!({"$ref": "#/components/schemas/Error"})
    } else {
        let response = &operation["responses"][status.to_string()];
        assert!(!response.is_null(), "{method} {route}: status {status} is not in the OpenAPI document");
        let json_type = content_type.is_some_and(|t| t.starts_with("application/json"));
        match response["content"].get("application/json") {
            Some(content) if json_type => content["schema"].clone(),
            Some(_) if body.is_empty() => return,
            Some(_) => panic!("{method} {route} {status}: documented as JSON, sent as {content_type:?}"),
            None => {
                let kind = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_owned();
                let documented = response["content"].as_object().is_some_and(|c| c.contains_key(&kind) || c.is_empty())
                    || response.get("content").is_none();
                assert!(documented, "{method} {route} {status}: content type {kind} is not documented");
                return;
            }
        }
    };
    let instance: Value = serde_json::from_slice(body).unwrap_or_else(|e| panic!("{method} {route} {status}: not JSON ({e})"));
    let root = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "components": doc["components"], "allOf": [schema]});
    if let Err(e) = jsonschema::validate(&root, &instance) {
        panic!("{method} {route} {status}: the body does not match the OpenAPI document: {e}\nbody: {instance}");
    }
}

/// The same for a reqwest response: reads its body, checks it, returns (status, body bytes).
pub async fn checked(method: &str, path: &str, response: reqwest::Response) -> (reqwest::StatusCode, Vec<u8>, reqwest::header::HeaderMap) {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    check(method, path, status.as_u16(), content_type.as_deref(), &body);
    (status, body, headers)
}
