package client

// Error is the body of every error answer, under its name before 1.5.0.
//
// Deprecated: use ErrorResponse. The schema was renamed so that clients generated in
// other languages do not shadow their own Error type.
type Error = ErrorResponse
