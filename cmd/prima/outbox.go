package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prima-dining/partner-api/store"
)

// outboxCommand lets an operator see and replay deliveries to venues' platforms and
// partners' webhook endpoints.
func outboxCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "List and retry venue and partner deliveries"}

	var (
		status string
		limit  int
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List outbox messages, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch status {
			case "", store.OutboxPending, store.OutboxDelivered, store.OutboxFailed:
			default:
				return fmt.Errorf("--status must be pending, delivered or failed, not %q", status)
			}
			if limit < 1 {
				return errors.New("--limit must be at least 1")
			}
			db, closeDB, err := operatorDB(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			msgs, err := db.ListOutbox(cmd.Context(), status, limit)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKIND\tTYPE\tSTATUS\tATTEMPTS\tNEXT ATTEMPT\tCREATED\tRESERVATION\tTARGET\tREFERENCE\tLAST ERROR")
			for _, m := range msgs {
				next := "-"
				if m.Status == store.OutboxPending {
					next = m.NextAttemptAt.UTC().Format(time.RFC3339)
				}
				target := m.VenueID
				if m.Kind == store.OutboxPartner {
					target = m.EndpointID
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Kind, m.Type, m.Status, m.Attempts,
					next, m.CreatedAt.UTC().Format(time.RFC3339), orDash(m.ReservationID), orDash(target),
					orDash(m.PlatformReference), orDash(oneLine(m.LastError, 80)))
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&status, "status", "", "only messages in this status: pending, delivered or failed")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many messages")

	retry := &cobra.Command{
		Use:   "retry MESSAGE_ID",
		Short: "Send a message back to pending, due now (its attempts are kept)",
		Long: `retry makes a message pending again and due at once, whatever its status: a failed
delivery is tried again (for up to PRIMA_OUTBOX_MAX_AGE from now), a delivered one is
replayed under the same webhook-id. A running server's worker delivers it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, closeDB, err := operatorDB(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			err = db.RetryOutbox(cmd.Context(), args[0], time.Now())
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no outbox message %s", args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Message %s is pending again; the outbox worker delivers it next.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, retry)
	return cmd
}

// venueCommand shows what venues were told.
func venueCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "venue", Short: "Venue tools"}
	var (
		limit int
		full  bool
	)
	inbox := &cobra.Command{
		Use:   "inbox VENUE_ID",
		Short: "Show the notifications kept for a venue whose platform is \"log\", newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return errors.New("--limit must be at least 1")
			}
			db, closeDB, err := operatorDB(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := cmd.Context()
			v, err := db.GetVenue(ctx, store.Scope{AllVenues: true}, args[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no venue %s", args[0])
			}
			if err != nil {
				return err
			}
			notes, err := db.ListVenueNotifications(ctx, v.ID, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			kind := v.PlatformKind
			if kind == "" {
				kind = "log"
			}
			fmt.Fprintf(out, "%s (%s), platform %s: %d notification(s)\n", v.Name, v.ID, kind, len(notes))
			if kind != "log" {
				fmt.Fprintln(out, "This venue's platform is not \"log\": its notifications go to the platform (see prima outbox list).")
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RECEIVED\tTYPE\tRESERVATION\tMESSAGE\tPAYLOAD")
			for _, n := range notes {
				payload := compactJSON(n.Payload)
				if !full {
					payload = oneLine(payload, 100)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", n.CreatedAt.UTC().Format(time.RFC3339), n.Type, orDash(n.ReservationID), n.ID, payload)
			}
			return w.Flush()
		},
	}
	inbox.Flags().IntVar(&limit, "limit", 20, "at most this many notifications")
	inbox.Flags().BoolVar(&full, "full", false, "print whole payloads")
	cmd.AddCommand(inbox)
	return cmd
}

// operatorDB opens (and migrates) the configured database for an operator command.
func operatorDB(cmd *cobra.Command) (*store.DB, func(), error) {
	c, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(cmd.Context(), c, true)
	if err != nil {
		return nil, nil, err
	}
	return db, func() { _ = db.Close() }, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps s on one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// compactJSON prints a JSON payload on one line (as it is, if it is not JSON).
func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}
