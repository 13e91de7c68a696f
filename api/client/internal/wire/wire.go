// Package wire holds the request and response models oapi-codegen generates
// from Remy's OpenAPI document (wire.gen.go). The SDK's public types are
// written by hand; its tests hold them to these models, so a change of the
// document that the SDK has not followed fails there.
package wire

import "encoding/json"

// ChangeValue is a field's value before or after a change: any JSON value
// (the schema is left out of generation, see oapi-codegen.yaml).
type ChangeValue = json.RawMessage
