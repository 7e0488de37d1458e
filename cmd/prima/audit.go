package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/internal/audit"
	"github.com/prima-dining/partner-api/store"
)

func auditCommand() *cobra.Command {
	var (
		partner, token, since string
		status, limit         int
	)
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List audit events (authenticated requests), newest first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > 1000 {
				return errors.New("--limit must be 1 to 1000")
			}
			c, err := loadConfig()
			if err != nil {
				return err
			}
			db, err := openDB(cmd.Context(), c, true)
			if err != nil {
				return err
			}
			defer db.Close()
			f := audit.Filter{TokenID: token, Status: status}
			if partner != "" {
				p, err := db.GetPartnerByName(cmd.Context(), partner)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no partner named %q", partner)
				} else if err != nil {
					return err
				}
				f.PartnerID = p.ID
			}
			if since != "" {
				d, err := parseDuration(since)
				if err != nil || d <= 0 {
					return fmt.Errorf("--since: %q is not a duration like 1h or 7d", since)
				}
				f.Since = time.Now().Add(-d)
			}
			log := audit.New(db, audit.Config{})
			defer log.Close()
			events, more, err := log.List(cmd.Context(), f, store.Page{Limit: limit})
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TIME\tPARTNER\tTOKEN\tMETHOD\tROUTE\tSTATUS\tMS\tREQUEST\tIDEMPOTENCY KEY\tCLIENT")
			for _, e := range events {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\t%s\n", e.OccurredAt.UTC().Format(time.RFC3339),
					dash(e.PartnerID), dash(e.TokenID), e.Method, e.Route, e.Status, float64(e.Duration.Microseconds())/1000,
					e.RequestID, dash(e.IdempotencyKey), dash(e.ClientAddr))
			}
			if more {
				fmt.Fprintf(w, "… more; raise --limit or narrow with --partner, --token, --status, --since\n")
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&partner, "partner", "", "only this partner's requests")
	cmd.Flags().StringVar(&token, "token", "", "only this token's requests (tok_…)")
	cmd.Flags().IntVar(&status, "status", 0, "only requests answered with this status")
	cmd.Flags().StringVar(&since, "since", "", "only requests in this last period, e.g. 1h or 7d")
	cmd.Flags().IntVar(&limit, "limit", 50, "how many events, 1 to 1000")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
