package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/internal/access"
	"github.com/prima-dining/partner-api/internal/demo"
)

func seedCommand() *cobra.Command {
	var (
		demoOnly bool
		venues   int
		days     int
	)
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill the database with venues and slots",
		Long: `seed --demo creates the demo catalogue (20 venues in New York, London and Paris)
and a demo partner token. seed --venues N --days D generates a larger catalogue for
benchmarks, with a progress bar.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if demoOnly == (venues > 0) {
				return errors.New("give either --demo or --venues N")
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := openDB(ctx, c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			opts := demo.Options{Venues: venues, Days: days}
			if !demoOnly {
				bar := progressbar.NewOptions(venues,
					progressbar.OptionSetDescription("venues"),
					progressbar.OptionSetWriter(cmd.ErrOrStderr()),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionClearOnFinish())
				opts.Progress = func(done, _ int) { _ = bar.Set(done) }
			}
			start := time.Now()
			nv, ns, err := demo.Seed(ctx, db, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Seeded %d venues and %d slots over %d days in %s.\n", nv, ns, days, time.Since(start).Round(time.Millisecond))
			if demoOnly {
				secret, _, err := access.NewService(db).Create(ctx, access.CreateParams{Partner: "demo", Name: "seed --demo"})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "Demo partner token (shown once): %s\n", secret)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&demoOnly, "demo", false, "seed the demo catalogue and a demo token")
	cmd.Flags().IntVar(&venues, "venues", 0, "generate this many venues")
	cmd.Flags().IntVar(&days, "days", 30, "days of slots, from today")
	return cmd
}

func tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Create, list, rotate and revoke partner tokens"}

	var (
		partner, operator, venues, name, scopes, expires string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Issue a partner or operator token; the secret is printed once",
		Long: `create --partner NAME issues a partner token (the five calls). create --operator NAME
--venues ven_a,ven_b issues a venue operator's token: it may call only /v1/operator/…,
and only for the venues granted to the operator (these and any it creates). Partners and
operators are created on first use.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (partner == "") == (operator == "") {
				return errors.New("give either --partner NAME or --operator NAME")
			}
			var expiresIn time.Duration
			if expires != "" {
				d, err := parseDuration(expires)
				if err != nil || d <= 0 {
					return fmt.Errorf("--expires: %q is not a positive duration like 90d or 12h", expires)
				}
				expiresIn = d
			}
			svc, closeDB, err := tokenService(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			var list []string
			if scopes != "" {
				list = strings.Split(scopes, ",")
			}
			var venueList []string
			if venues != "" {
				venueList = strings.Split(venues, ",")
			}
			secret, t, err := svc.Create(cmd.Context(), access.CreateParams{
				Partner: partner, Operator: operator, Venues: venueList, Name: name, Scopes: list, ExpiresIn: expiresIn,
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Token %s for %s, scopes %s", t.ID, owner(t), strings.Join(t.Scopes, ","))
			if t.ExpiresAt != nil {
				fmt.Fprintf(out, ", expires %s", t.ExpiresAt.Format(time.RFC3339))
			}
			fmt.Fprintf(out, ".\nSecret (shown once, store it now):\n%s\n", secret)
			return nil
		},
	}
	create.Flags().StringVar(&partner, "partner", "", "partner name (created if new)")
	create.Flags().StringVar(&operator, "operator", "", "venue operator name (created if new), instead of --partner")
	create.Flags().StringVar(&venues, "venues", "", "with --operator: comma-separated venue ids the operator manages")
	create.Flags().StringVar(&name, "name", "", "a label for the token")
	create.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes (default: "+strings.Join(access.DefaultScopes, ",")+
		"; for an operator "+strings.Join(access.OperatorScopes, ",")+")")
	create.Flags().StringVar(&expires, "expires", "", "lifetime, e.g. 90d or 12h (default: no expiry)")

	var listPartner string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, closeDB, err := tokenService(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			tokens, err := svc.List(cmd.Context(), listPartner)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tOWNER\tNAME\tPREFIX\tSCOPES\tSTATUS\tEXPIRES\tLAST USED")
			now := time.Now()
			for _, t := range tokens {
				status := "active"
				switch {
				case t.RevokedAt != nil && t.RevokedAt.After(now):
					status = "rotated, works until " + t.RevokedAt.UTC().Format(time.RFC3339)
				case t.RevokedAt != nil:
					status = "revoked"
				case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
					status = "expired"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", t.ID, owner(t), t.Name, t.Prefix,
					strings.Join(t.Scopes, ","), status, timeOrDash(t.ExpiresAt), timeOrDash(t.LastUsedAt))
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&listPartner, "partner", "", "only this partner's tokens")

	revoke := &cobra.Command{
		Use:   "revoke TOKEN_ID",
		Short: "Revoke a token; it stops working on the next request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, closeDB, err := tokenService(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			if err := svc.Revoke(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked %s.\n", args[0])
			return nil
		},
	}
	var overlap string
	rotate := &cobra.Command{
		Use:   "rotate TOKEN_ID",
		Short: "Issue a successor of a token; the old one keeps working for the overlap",
		Long: `Issue a new token with the same partner, name, scopes and lifetime as TOKEN_ID and
print its secret once. TOKEN_ID keeps working until the overlap ends (--overlap 24h by
default; 0 ends it at once), so clients can switch secrets without a failed request.
GET /v1/tokens/current shows the old token's revokes_at; 'prima token revoke' ends it
sooner.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDuration(overlap)
			if err != nil || d < 0 {
				return fmt.Errorf("--overlap: %q is not a duration like 24h, 90m or 0", overlap)
			}
			svc, closeDB, err := tokenService(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			secret, t, err := svc.Rotate(cmd.Context(), args[0], d)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Token %s succeeds %s for %s, scopes %s", t.ID, args[0], owner(t), strings.Join(t.Scopes, ","))
			if t.ExpiresAt != nil {
				fmt.Fprintf(out, ", expires %s", t.ExpiresAt.Format(time.RFC3339))
			}
			fmt.Fprintf(out, ".\n%s stops working at %s.\nSecret (shown once, store it now):\n%s\n",
				args[0], time.Now().UTC().Add(d).Format(time.RFC3339), secret)
			return nil
		},
	}
	rotate.Flags().StringVar(&overlap, "overlap", "24h", "how long the old token keeps working, e.g. 24h, 90m or 0")

	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}

func tokenService(cmd *cobra.Command) (*access.Service, func(), error) {
	c, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(cmd.Context(), c, true)
	if err != nil {
		return nil, nil, err
	}
	return access.NewService(db), func() { _ = db.Close() }, nil
}

// owner names whose token it is: partner "acme" or operator "lupa-group".
func owner(t access.Token) string {
	if t.Kind == access.KindOperator {
		return fmt.Sprintf("operator %q", t.OperatorName)
	}
	return fmt.Sprintf("partner %q", t.PartnerName)
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
