// Package refusal holds the two refusals every domain package answers for a request it
// cannot serve: what was asked for does not exist, or a parameter's value is refused.
// booking, inventory and webhooks return them, and the server maps each to one error
// code; they live apart so that webhooks can return them without importing booking.
package refusal

import (
	"errors"
	"fmt"
)

// Sentinels the error types below match.
var (
	ErrNotFound         = errors.New("booking: not found")
	ErrInvalidParameter = errors.New("booking: invalid parameter")
)

// NotFoundError names what was not found; it matches ErrNotFound.
type NotFoundError struct {
	Kind  string // "venue", "slot", "reservation", "payment intent", "webhook endpoint"
	ID    string
	Param string // the parameter that carried the id
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("booking: no such %s %s", e.Kind, e.ID) }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ParamError is a request that is well-formed but whose value the domain refuses; it
// matches ErrInvalidParameter.
type ParamError struct {
	Param   string
	Message string
	// Missing: the value is required and was not given (parameter_missing rather than
	// parameter_invalid).
	Missing bool
}

func (e *ParamError) Error() string { return "booking: " + e.Param + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalidParameter) true.
func (e *ParamError) Is(target error) bool { return target == ErrInvalidParameter }

// ErrForbidden is matched by ForbiddenError.
var ErrForbidden = errors.New("booking: forbidden")

// ForbiddenError is a request the caller's token may not make with these values (a
// token asking for scopes wider than its own); it matches ErrForbidden.
type ForbiddenError struct {
	Param   string
	Message string
}

func (e *ForbiddenError) Error() string { return "access: " + e.Param + ": " + e.Message }

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }
