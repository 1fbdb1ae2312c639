//! `GET /openapi.json` (filled in below).
