package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm/clause"
)

// CreatePartner inserts p; ErrConflict if its id or name is taken.
func (db *DB) CreatePartner(ctx context.Context, p *Partner) error {
	p.CreatedAt = dbTime(p.CreatedAt)
	return wrap("create partner", db.q(ctx).Create(p).Error)
}

// GetPartnerByName returns the partner of that name; ErrNotFound if none.
func (db *DB) GetPartnerByName(ctx context.Context, name string) (Partner, error) {
	var p Partner
	if err := db.q(ctx).Where("name = ?", name).Take(&p).Error; err != nil {
		return Partner{}, wrap("get partner by name", err)
	}
	return p, nil
}

// GrantVenues lets a partner (whose AllVenues is false) sell the venues; venues already
// granted are left alone.
func (db *DB) GrantVenues(ctx context.Context, partnerID string, venueIDs []string) error {
	if len(venueIDs) == 0 {
		return nil
	}
	rows := make([]PartnerVenue, len(venueIDs))
	for i, id := range venueIDs {
		rows[i] = PartnerVenue{PartnerID: partnerID, VenueID: id}
	}
	err := db.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		CreateInBatches(rows, insertBatch).Error
	if err == nil {
		db.inv.publish(Change{Kind: ChangePartner, ID: partnerID})
	}
	return wrap("grant venues", err)
}

// PartnerVenueIDs lists the venues granted to a partner (whose AllVenues is false).
func (db *DB) PartnerVenueIDs(ctx context.Context, partnerID string) ([]string, error) {
	var out []string
	err := db.q(ctx).Model(&PartnerVenue{}).Where("partner_id = ?", partnerID).
		Order("venue_id").Pluck("venue_id", &out).Error
	return out, wrap("partner venue ids", err)
}

// CreateToken inserts t (its Partner is ignored); ErrConflict if its id or hash is taken.
func (db *DB) CreateToken(ctx context.Context, t *Token, also ...Step) error {
	t.ExpiresAt = dbTimePtr(t.ExpiresAt)
	t.RevokedAt = dbTimePtr(t.RevokedAt)
	t.LastUsedAt = dbTimePtr(t.LastUsedAt)
	t.CreatedAt = dbTime(t.CreatedAt)
	if len(also) == 0 {
		return wrap("create token", db.q(ctx).Omit(tokenOmit(t)...).Create(t).Error)
	}
	return wrap("create token", db.Transact(ctx, func(tx *Tx) error {
		if err := tx.g.Omit(tokenOmit(t)...).Create(t).Error; err != nil {
			return err
		}
		return tx.run(also)
	}))
}

// tokenOmit lists what inserting t leaves out: its associations, and the owner column
// it does not use, so that column stays NULL (an empty partner_id would fail its foreign
// key).
func tokenOmit(t *Token) []string {
	if t.PartnerID == "" {
		return []string{clause.Associations, "partner_id"}
	}
	return []string{clause.Associations}
}

// GetTokenByHash returns the token whose secret hashes to hash, with its Partner or
// Operator;
// ErrNotFound if none. Expiry and revocation are the caller's to check.
//
// Every authenticated request makes this lookup, so it is one statement scanned with
// database/sql rather than GORM's reflective Take.
func (db *DB) GetTokenByHash(ctx context.Context, hash string) (Token, error) {
	var t Token
	var (
		partnerCreated, operatorCreated *time.Time
		operatorID, operatorName        string
	)
	p := &t.Partner
	err := db.sql.QueryRowContext(ctx, tokenByHashSQL(db.dialect), hash).Scan(
		&t.ID, &t.PartnerID, &t.OperatorID, &t.Name, &t.Hash, &t.Prefix, &t.Scopes,
		&t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt, &t.CreatedAt,
		&p.ID, &p.Name, &p.AllVenues, &p.RateLimitPerSecond, &p.RateLimitBurst, &partnerCreated,
		&operatorID, &operatorName, &operatorCreated)
	if err == nil {
		if partnerCreated != nil {
			p.CreatedAt = *partnerCreated
		}
		t.Operator = Operator{ID: operatorID, Name: operatorName}
		if operatorCreated != nil {
			t.Operator.CreatedAt = *operatorCreated
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, wrap("get token by hash", ErrNotFound)
	} else if err != nil {
		return Token{}, wrap("get token by hash", err)
	}
	return t, nil
}

// TokenByHashStatement is the statement of GetTokenByHash, for benchmarks that run the
// server's statements directly.
func (db *DB) TokenByHashStatement(hash string) (string, []any) {
	return tokenByHashSQL(db.dialect), []any{hash}
}

// tokenByHashText is GetTokenByHash's statement with a ? placeholder.
// A token belongs to a partner or to an operator: both are outer joins, and the other's
// columns read as empty.
const tokenByHashText = `SELECT t.id, COALESCE(t.partner_id, ''), t.operator_id, t.name, t.hash, t.prefix, t.scopes, ` +
	`t.expires_at, t.revoked_at, t.last_used_at, t.created_at, ` +
	`COALESCE(p.id, ''), COALESCE(p.name, ''), COALESCE(p.all_venues, FALSE), COALESCE(p.rate_limit_per_second, 0), ` +
	`COALESCE(p.rate_limit_burst, 0), p.created_at, ` +
	`COALESCE(o.id, ''), COALESCE(o.name, ''), o.created_at ` +
	`FROM tokens t LEFT JOIN partners p ON p.id = t.partner_id LEFT JOIN operators o ON o.id = t.operator_id ` +
	`WHERE t.hash = ?`

var tokenByHashPostgres = strings.Replace(tokenByHashText, "?", "$1", 1)

func tokenByHashSQL(dialect string) string {
	if dialect == DialectPostgres {
		return tokenByHashPostgres
	}
	return tokenByHashText
}

// ListTokens lists a partner's tokens (partnerID "" = every partner's), newest first,
// each with its Partner.
func (db *DB) ListTokens(ctx context.Context, partnerID string) ([]Token, error) {
	g := db.q(ctx).Joins("Partner").Joins("Operator")
	if partnerID != "" {
		g = g.Where("tokens.partner_id = ?", partnerID)
	}
	var out []Token
	if err := g.Order("tokens.created_at DESC, tokens.id DESC").Find(&out).Error; err != nil {
		return nil, wrap("list tokens", err)
	}
	return out, nil
}

// RevokeToken marks a token revoked at at; a token already revoked by then keeps its
// revoked_at. ErrNotFound if there is no such token.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	// A revocation scheduled later (the overlap of a rotation) is brought forward.
	res := db.q(ctx).Model(&Token{}).Where("id = ? AND (revoked_at IS NULL OR revoked_at > ?)", id, dbTime(at)).
		UpdateColumn("revoked_at", dbTime(at))
	if res.Error != nil {
		return wrap("revoke token", res.Error)
	}
	if res.RowsAffected == 0 {
		return db.tokenExists(ctx, "revoke token", id)
	}
	db.inv.publish(Change{Kind: ChangeToken, ID: id})
	return nil
}

// TouchToken records a token's use at at. ErrNotFound if there is no such token.
func (db *DB) TouchToken(ctx context.Context, id string, at time.Time) error {
	res := db.q(ctx).Model(&Token{}).Where("id = ?", id).UpdateColumn("last_used_at", dbTime(at))
	if res.Error != nil {
		return wrap("touch token", res.Error)
	}
	if res.RowsAffected == 0 {
		return wrap("touch token", ErrNotFound)
	}
	return nil
}

// tokenExists is nil if the token exists, ErrNotFound (wrapped for op) if not.
func (db *DB) tokenExists(ctx context.Context, op, id string) error {
	var n int64
	if err := db.q(ctx).Model(&Token{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return wrap(op, err)
	}
	if n == 0 {
		return wrap(op, ErrNotFound)
	}
	return nil
}

// SetPartnerRateLimit sets a partner's token bucket (requests per second and burst);
// zeros return it to the server's default. ErrNotFound if there is no such partner.
func (db *DB) SetPartnerRateLimit(ctx context.Context, name string, perSecond float64, burst int) error {
	res := db.q(ctx).Model(&Partner{}).Where("name = ?", name).
		UpdateColumns(map[string]any{"rate_limit_per_second": perSecond, "rate_limit_burst": burst})
	if res.Error != nil {
		return wrap("set partner rate limit", res.Error)
	}
	if res.RowsAffected == 0 {
		return wrap("set partner rate limit", ErrNotFound)
	}
	db.inv.publish(Change{Kind: ChangePartner}) // by name: any partner
	return nil
}

// GetToken returns a token by id, with its Partner; ErrNotFound if none.
func (db *DB) GetToken(ctx context.Context, id string) (Token, error) {
	var t Token
	if err := db.q(ctx).Joins("Partner").Joins("Operator").Where("tokens.id = ?", id).Take(&t).Error; err != nil {
		return Token{}, wrap("get token", err)
	}
	return t, nil
}

// RotateToken inserts successor and schedules the revocation of the token oldID at
// revokeAt, in one transaction, so there is never a successor without the old token's
// end or the reverse. ErrNotFound if there is no such token, ErrConflict if it is
// already revoked or rotated.
func (db *DB) RotateToken(ctx context.Context, oldID string, successor *Token, revokeAt time.Time, also ...Step) error {
	successor.ExpiresAt = dbTimePtr(successor.ExpiresAt)
	successor.RevokedAt = dbTimePtr(successor.RevokedAt)
	successor.LastUsedAt = dbTimePtr(successor.LastUsedAt)
	successor.CreatedAt = dbTime(successor.CreatedAt)
	return db.Transact(ctx, func(tx *Tx) error {
		res := tx.g.Model(&Token{}).Where("id = ? AND revoked_at IS NULL", oldID).
			UpdateColumn("revoked_at", dbTime(revokeAt))
		if res.Error != nil {
			return wrap("rotate token", res.Error)
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.g.Model(&Token{}).Where("id = ?", oldID).Count(&n).Error; err != nil {
				return wrap("rotate token", err)
			}
			if n == 0 {
				return wrap("rotate token", ErrNotFound)
			}
			return wrap("rotate token", ErrConflict)
		}
		tx.invalidate(ChangeToken, oldID)
		if err := tx.g.Omit(tokenOmit(successor)...).Create(successor).Error; err != nil {
			return wrap("rotate token", err)
		}
		return tx.run(also)
	})
}

// GetPartner returns a partner by id; ErrNotFound if none.
func (db *DB) GetPartner(ctx context.Context, id string) (Partner, error) {
	var p Partner
	if err := db.q(ctx).Where("id = ?", id).Take(&p).Error; err != nil {
		return Partner{}, wrap("get partner", err)
	}
	return p, nil
}
