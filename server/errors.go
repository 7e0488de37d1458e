package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/prima-dining/partner-api/gen"
	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/booking"
	"github.com/prima-dining/partner-api/internal/idempotency"
	"github.com/prima-dining/partner-api/internal/inventory"
	"github.com/prima-dining/partner-api/internal/locale"
	"github.com/prima-dining/partner-api/internal/refusal"
)

// Code is a machine-readable error code. Adding one takes: its constant and Catalogue
// entry here (and a problemFor case if a new domain error answers with it); in the spec,
// its ErrorDetail x-error-codes entry, its row in the introduction's error table (what it
// means, which /docs/errors shows beside the catalogue's message) and its name in the
// shared response of its status ("Codes: …"). Tests in contract_test.go hold all of them
// equal; no handler changes, since handleError renders every error.
type Code string

// Error codes.
const (
	CodeParameterInvalid        Code = "parameter_invalid"
	CodeParameterMissing        Code = "parameter_missing"
	CodeParameterUnknown        Code = "parameter_unknown"
	CodeBodyInvalid             Code = "body_invalid"
	CodeIdempotencyKeyMissing   Code = "idempotency_key_missing"
	CodePartySizeOutOfRange     Code = "party_size_out_of_range"
	CodeWebhookSignatureInvalid Code = "webhook_signature_invalid"
	CodeAuthenticationRequired  Code = "authentication_required"
	CodeTokenInvalid            Code = "token_invalid"
	CodeTokenExpired            Code = "token_expired"
	CodeTokenRevoked            Code = "token_revoked"
	CodePaymentRequired         Code = "payment_required"
	CodeCardDeclined            Code = "card_declined"
	CodeInsufficientScope       Code = "insufficient_scope"
	CodeResourceMissing         Code = "resource_missing"
	CodeRouteNotFound           Code = "route_not_found"
	CodeMethodNotAllowed        Code = "method_not_allowed"
	CodeSlotUnavailable         Code = "slot_unavailable"
	CodeSlotNotBookable         Code = "slot_not_bookable"
	CodeHoldExpired             Code = "hold_expired"
	CodeHoldExtensionLimit      Code = "hold_extension_limit"
	CodeHoldLimitReached        Code = "hold_limit_reached"
	CodeReservationStateInvalid Code = "reservation_state_invalid"
	CodeModificationCutoff      Code = "modification_cutoff_passed"
	CodeChangeExpired           Code = "change_expired"
	CodeIdempotencyKeyInUse     Code = "idempotency_key_in_use"
	CodeBodyTooLarge            Code = "body_too_large"
	CodeUnsupportedMediaType    Code = "unsupported_media_type"
	CodeIdempotencyKeyReused    Code = "idempotency_key_reused"
	CodeRateLimited             Code = "rate_limited"
	CodeInternal                Code = "internal_error"
	CodePaymentProvider         Code = "payment_provider_error"
	CodeServiceUnavailable      Code = "service_unavailable"
	CodeTokenKindInvalid        Code = "token_kind_invalid"
	CodeTablesBelowTaken        Code = "tables_below_taken"
	CodeAllocationUnavailable   Code = "allocation_unavailable"
	CodeWatchStateInvalid       Code = "watch_state_invalid"
	CodeRefundAmountTooLarge    Code = "refund_amount_too_large"
)

// catalogueEntry is how a code is answered.
type catalogueEntry struct {
	Type    gen.ErrorDetailType
	Status  int
	Message string // the default message, when the situation has nothing more specific
}

const (
	typeInvalidRequest = gen.InvalidRequestError
	typeAuthentication = gen.AuthenticationError
	typePermission     = gen.PermissionError
	typeIdempotency    = gen.IdempotencyError
	typePayment        = gen.PaymentError
	typeRateLimit      = gen.RateLimitError
	typeAPI            = gen.ApiError
)

// Catalogue is every error code the server can answer with.
var Catalogue = map[Code]catalogueEntry{
	CodeParameterInvalid:        {typeInvalidRequest, http.StatusBadRequest, "A parameter is invalid."},
	CodeParameterMissing:        {typeInvalidRequest, http.StatusBadRequest, "A required parameter is missing."},
	CodeParameterUnknown:        {typeInvalidRequest, http.StatusBadRequest, "The body has a field, or the query a parameter, that this operation does not accept."},
	CodeBodyInvalid:             {typeInvalidRequest, http.StatusBadRequest, "The body is not a valid JSON object."},
	CodeIdempotencyKeyMissing:   {typeInvalidRequest, http.StatusBadRequest, "This operation needs an Idempotency-Key header."},
	CodePartySizeOutOfRange:     {typeInvalidRequest, http.StatusBadRequest, "The party size is outside the slot's range."},
	CodeWebhookSignatureInvalid: {typeInvalidRequest, http.StatusBadRequest, "The webhook's signature, secret or timestamp does not check out."},
	CodeAuthenticationRequired:  {typeAuthentication, http.StatusUnauthorized, "Send your PRIMA token as 'Authorization: Bearer prima_pat_…'."},
	CodeTokenInvalid:            {typeAuthentication, http.StatusUnauthorized, "The bearer token is not a valid PRIMA token."},
	CodeTokenExpired:            {typeAuthentication, http.StatusUnauthorized, "The bearer token has expired."},
	CodeTokenRevoked:            {typeAuthentication, http.StatusUnauthorized, "The bearer token was revoked."},
	CodePaymentRequired:         {typePayment, http.StatusPaymentRequired, "The payment for this reservation is not authorised yet."},
	CodeCardDeclined:            {typePayment, http.StatusPaymentRequired, "The card was declined; decline_code says why. Ask the guest for another payment method."},
	CodeInsufficientScope:       {typePermission, http.StatusForbidden, "The token lacks the scope this call needs."},
	CodeResourceMissing:         {typeInvalidRequest, http.StatusNotFound, "No such object."},
	CodeRouteNotFound:           {typeInvalidRequest, http.StatusNotFound, "There is no operation at this path. See /docs/reference/ for the API reference."},
	CodeMethodNotAllowed:        {typeInvalidRequest, http.StatusMethodNotAllowed, "This path does not accept this method."},
	CodeSlotUnavailable:         {typeInvalidRequest, http.StatusConflict, "That slot has no table left."},
	CodeSlotNotBookable:         {typeInvalidRequest, http.StatusConflict, "That slot has started or is no longer offered."},
	CodeHoldExpired:             {typeInvalidRequest, http.StatusConflict, "The hold expired before this call. Hold the slot again."},
	CodeHoldExtensionLimit:      {typeInvalidRequest, http.StatusConflict, "The hold has reached its maximum total time and cannot be extended further."},
	CodeHoldLimitReached:        {typeInvalidRequest, http.StatusConflict, "Your partner account has reached its maximum number of active holds. Finalize, cancel or let some expire first."},
	CodeReservationStateInvalid: {typeInvalidRequest, http.StatusConflict, "The reservation's status does not allow this call."},
	CodeModificationCutoff:      {typeInvalidRequest, http.StatusConflict, "The venue's modification cutoff has passed; the booking can no longer be changed, only cancelled."},
	CodeChangeExpired:           {typeInvalidRequest, http.StatusConflict, "The pending change waited too long for its payment and was withdrawn. Request the change again."},
	CodeIdempotencyKeyInUse:     {typeIdempotency, http.StatusConflict, "A request with this Idempotency-Key is still being processed. Retry shortly."},
	CodeBodyTooLarge:            {typeInvalidRequest, http.StatusRequestEntityTooLarge, "The body is larger than 1 MB."},
	CodeUnsupportedMediaType:    {typeInvalidRequest, http.StatusUnsupportedMediaType, "Send the body as application/json."},
	CodeIdempotencyKeyReused:    {typeIdempotency, http.StatusUnprocessableEntity, "This Idempotency-Key was already used with a different request. Use a new key for a new request."},
	CodeRateLimited:             {typeRateLimit, http.StatusTooManyRequests, "Too many requests. Retry after the time in the Retry-After header."},
	CodeInternal:                {typeAPI, http.StatusInternalServerError, "Something went wrong on our side. It is safe to retry with the same Idempotency-Key."},
	CodePaymentProvider:         {typeAPI, http.StatusBadGateway, "The payment provider failed or timed out; nothing was charged or held. Retry the call with the same Idempotency-Key."},
	CodeServiceUnavailable:      {typeAPI, http.StatusServiceUnavailable, "The service is temporarily unavailable; nothing was done. Retry after the time in the Retry-After header, with the same Idempotency-Key."},
	CodeTokenKindInvalid:        {typePermission, http.StatusForbidden, "Partner tokens cannot call /v1/operator/… operations, and operator tokens can call only those."},
	CodeTablesBelowTaken:        {typeInvalidRequest, http.StatusConflict, "A slot's tables cannot go below the tables already held or booked."},
	CodeAllocationUnavailable:   {typeInvalidRequest, http.StatusConflict, "The slot's shared pool has too few free tables for this allocation."},
	CodeWatchStateInvalid:       {typeInvalidRequest, http.StatusConflict, "The watch is not active: it matched, expired or was cancelled."},
	CodeRefundAmountTooLarge:    {typeInvalidRequest, http.StatusBadRequest, "The refund is larger than what was captured and not yet refunded."},
}

// Problem is an error answer on its way to the wire.
type Problem struct {
	Code   Code
	Status int
	Detail gen.ErrorDetail
	// Headers are extra response headers (WWW-Authenticate, Allow).
	Headers map[string]string
}

func (p *Problem) Error() string { return string(p.Code) + ": " + p.Detail.Message }

// newProblem builds a Problem from the catalogue; message and param are optional.
func newProblem(code Code, message, param string) *Problem {
	e, ok := Catalogue[code]
	if !ok {
		panic("server: error code not in catalogue: " + code)
	}
	if message == "" {
		message = e.Message
	}
	d := gen.ErrorDetail{Type: e.Type, Code: string(code), Message: message}
	if param != "" {
		d.Param = &param
	}
	return &Problem{Code: code, Status: e.Status, Detail: d}
}

// problemFor maps an error from the layers below to its Problem. Errors it does not know
// become internal_error, with a message that says nothing of the cause.
func problemFor(err error) *Problem {
	var (
		p          *Problem
		notFound   *booking.NotFoundError
		param      *booking.ParamError
		partySize  *booking.PartySizeError
		noTable    *booking.SlotUnavailableError
		state      *booking.StateError
		paymentErr *booking.PaymentError
		holdLimit  *booking.HoldLimitError
		belowTaken *inventory.TablesBelowTakenError
		noAlloc    *inventory.AllocationUnavailableError
		tooLarge   *booking.RefundTooLargeError
		forbidden  *refusal.ForbiddenError
		syncState  *booking.VenueSyncStateError
	)
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, booking.ErrUnavailable):
		// First: whatever else the error says, it was not decided, so a retry may differ.
		return unavailableProblem()
	case errors.As(err, &notFound):
		return newProblem(CodeResourceMissing, fmt.Sprintf("No such %s: %s.", notFound.Kind, notFound.ID), notFound.Param)
	case errors.As(err, &param) && param.Missing:
		return newProblem(CodeParameterMissing, param.Message, param.Param)
	case errors.As(err, &param):
		return newProblem(CodeParameterInvalid, param.Message, param.Param)
	case errors.As(err, &forbidden):
		return newProblem(CodeInsufficientScope, forbidden.Message, forbidden.Param)
	case errors.As(err, &partySize):
		return newProblem(CodePartySizeOutOfRange,
			fmt.Sprintf("This slot seats parties of %d to %d; party_size was %d.", partySize.Min, partySize.Max, partySize.PartySize), "party_size")
	case errors.As(err, &noTable):
		pr := newProblem(CodeSlotUnavailable, fmt.Sprintf("That slot has no table left for %d.", noTable.PartySize), "slot_id")
		alts := make([]gen.Slot, 0, len(noTable.Alternatives))
		for _, s := range noTable.Alternatives {
			alts = append(alts, slotToAPI(s, locale.English))
		}
		pr.Detail.Alternatives = &alts
		return pr
	case errors.Is(err, booking.ErrSlotNotBookable):
		return newProblem(CodeSlotNotBookable, "", "slot_id")
	case errors.Is(err, booking.ErrHoldExpired):
		return newProblem(CodeHoldExpired, "", "")
	case errors.Is(err, booking.ErrExtensionLimit):
		return newProblem(CodeHoldExtensionLimit, "", "")
	case errors.Is(err, booking.ErrModifyCutoff):
		return newProblem(CodeModificationCutoff, "", "")
	case errors.Is(err, booking.ErrChangeExpired):
		return newProblem(CodeChangeExpired, "", "")
	case errors.As(err, &holdLimit):
		return newProblem(CodeHoldLimitReached, fmt.Sprintf("Your partner account already has %d active holds, the most it may have at once. Finalize or cancel one, or wait for one to expire, then hold again.", holdLimit.Limit), "")
	case errors.As(err, &belowTaken):
		msg := fmt.Sprintf("The slot has %d tables held or booked; its tables cannot go below that (asked for %d).", belowTaken.Taken, belowTaken.Requested)
		if belowTaken.Allocated > 0 {
			msg = fmt.Sprintf("The slot has %d tables held or booked and %d allocated to partners; its tables cannot go below %d (asked for %d).",
				belowTaken.Taken, belowTaken.Allocated, belowTaken.Taken+belowTaken.Allocated, belowTaken.Requested)
		}
		return newProblem(CodeTablesBelowTaken, msg, "tables")
	case errors.As(err, &noAlloc):
		if noAlloc.Exists {
			return newProblem(CodeAllocationUnavailable, "The partner already has an allocation of this slot.", "partner_id")
		}
		return newProblem(CodeAllocationUnavailable, fmt.Sprintf("The slot's shared pool has %d tables free; %d cannot be allocated.", noAlloc.Free, noAlloc.Requested), "tables")
	case errors.Is(err, booking.ErrWatchState):
		return newProblem(CodeWatchStateInvalid, "", "")
	case errors.As(err, &tooLarge):
		return newProblem(CodeRefundAmountTooLarge, fmt.Sprintf("At most %d (minor units of %s) can still be refunded.", tooLarge.Refundable, strings.ToUpper(tooLarge.Currency)), "amount")
	case errors.As(err, &syncState):
		return newProblem(CodeReservationStateInvalid, fmt.Sprintf("The reservation's venue sync is %s; only a failed sync can be retried.", syncState.Status), "")
	case errors.As(err, &state):
		return newProblem(CodeReservationStateInvalid, fmt.Sprintf("You cannot %s a reservation that is %s.", state.Action, state.Status), "")
	case errors.As(err, &paymentErr):
		return paymentProblem(paymentErr)
	case errors.Is(err, booking.ErrPaymentProvider):
		return newProblem(CodePaymentProvider, "", "")
	case errors.Is(err, booking.ErrWebhookSignature):
		return newProblem(CodeWebhookSignatureInvalid, "", "Stripe-Signature")
	case errors.Is(err, booking.ErrWebhooksDisabled), errors.Is(err, booking.ErrSandboxNotEnabled):
		return newProblem(CodeRouteNotFound, "", "")
	case errors.Is(err, idempotency.ErrInUse):
		return newProblem(CodeIdempotencyKeyInUse, "", "Idempotency-Key")
	case errors.Is(err, idempotency.ErrReused):
		return newProblem(CodeIdempotencyKeyReused, "", "Idempotency-Key")
	case errors.Is(err, access.ErrMissing):
		return authProblem(CodeAuthenticationRequired)
	case errors.Is(err, access.ErrInvalid):
		return authProblem(CodeTokenInvalid)
	case errors.Is(err, access.ErrExpired):
		return authProblem(CodeTokenExpired)
	case errors.Is(err, access.ErrRevoked):
		return authProblem(CodeTokenRevoked)
	}
	return newProblem(CodeInternal, "", "")
}

// unavailableRetryAfter is the Retry-After of a 503: the pool reconnects as soon as the
// database answers again, so a short wait is enough.
const unavailableRetryAfter = "1"

// unavailableProblem is the answer when the database cannot be reached.
func unavailableProblem() *Problem {
	p := newProblem(CodeServiceUnavailable, "", "")
	p.Headers = map[string]string{"Retry-After": unavailableRetryAfter}
	return p
}

func authProblem(code Code) *Problem {
	p := newProblem(code, "", "")
	p.Headers = map[string]string{"WWW-Authenticate": `Bearer realm="prima"`}
	return p
}

func paymentProblem(e *booking.PaymentError) *Problem {
	status := gen.PaymentIntentStatus(e.Status)
	next := gen.ErrorDetailNextStep(e.NextStep())
	var p *Problem
	if e.Declined {
		p = newProblem(CodeCardDeclined, "The card was declined. Ask the guest for another payment method.", "")
	} else {
		msg := fmt.Sprintf("The payment for this reservation is not authorised yet (status %s).", e.Status)
		switch next {
		case gen.HandleNextAction:
			msg += " The guest must complete the card's authentication (Stripe.js handles the next action), then finalize again."
		case gen.RetryWithNewPaymentMethod:
			msg += " The last card was declined: confirm the payment intent with another payment method, then finalize again."
		case gen.WaitForProcessing:
			msg += " The payment is processing: retry in a few seconds."
		default:
			msg += " Confirm the payment intent on the client with its client_secret, then finalize again."
		}
		p = newProblem(CodePaymentRequired, msg, "")
	}
	p.Detail.PaymentIntentStatus = &status
	p.Detail.NextStep = &next
	if e.DeclineCode != "" {
		p.Detail.DeclineCode = &e.DeclineCode
	}
	return p
}

// docURL is where a code is explained.
func docURL(base string, code Code) string {
	return strings.TrimSuffix(base, "/") + "/docs/errors#" + string(code)
}
