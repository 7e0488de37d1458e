package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/server"
)

func partnerCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "partner", Short: "Partner account settings"}
	rateLimit := &cobra.Command{
		Use:   "rate-limit PARTNER LIMIT",
		Short: "Set a partner's own rate limit, e.g. '20/s burst 40', or 'default'",
		Long: `Set the token bucket of every token of PARTNER: LIMIT is N/s, N/m or N/h, optionally
followed by "burst B" (quote it), or "default" for PRIMA_RATE_LIMIT. Running servers apply
it from the partner's next request.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rl server.RateLimit
			if args[1] != "default" {
				var err error
				if rl, err = server.ParseRateLimit(args[1]); err != nil {
					return err
				}
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
			if err := db.SetPartnerRateLimit(cmd.Context(), args[0], rl.PerSecond, rl.Burst); err != nil {
				return fmt.Errorf("partner %q: %w", args[0], err)
			}
			if args[1] == "default" {
				fmt.Fprintf(cmd.OutOrStdout(), "%s now has the default rate limit.\n", args[0])
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s.\n", args[0], rl)
			}
			return nil
		},
	}
	cmd.AddCommand(rateLimit)
	return cmd
}
