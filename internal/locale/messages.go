package locale

// translations: the English text (the key, with its verbs) and its French and German.
// A key missing here prints in English.
var translations = map[string]translation{
	// Cancellation policies (booking.CancellationPolicy.SummaryIn).
	"Free cancellation at any time.": {
		fr: "Annulation gratuite à tout moment.",
		de: "Kostenlose Stornierung jederzeit.",
	},
	"Free cancellation": {
		fr: "Annulation gratuite",
		de: "Kostenlose Stornierung",
	},
	"Free cancellation until %d hours before the reservation": {
		fr: "Annulation gratuite jusqu'à %d heures avant la réservation",
		de: "Kostenlose Stornierung bis %d Stunden vor der Reservierung",
	},
	"%s; after that %d%% of the prepaid amount is kept.": {
		fr: "%s ; ensuite, %d %% du montant prépayé est conservé.",
		de: "%s; danach werden %d %% des vorausbezahlten Betrags einbehalten.",
	},
	"%s; after that a fee of %s is kept from the prepaid amount.": {
		fr: "%s ; ensuite, des frais de %s sont retenus sur le montant prépayé.",
		de: "%s; danach wird eine Gebühr von %s vom vorausbezahlten Betrag einbehalten.",
	},
	"%s.": {fr: "%s.", de: "%s."},
	// Modification policies.
	"Changes are accepted until the reservation starts.": {
		fr: "Les modifications sont acceptées jusqu'au début de la réservation.",
		de: "Änderungen sind bis zum Beginn der Reservierung möglich.",
	},
	"Changes are accepted until 1 hour before the reservation.": {
		fr: "Les modifications sont acceptées jusqu'à 1 heure avant la réservation.",
		de: "Änderungen sind bis 1 Stunde vor der Reservierung möglich.",
	},
	"Changes are accepted until %d hours before the reservation.": {
		fr: "Les modifications sont acceptées jusqu'à %d heures avant la réservation.",
		de: "Änderungen sind bis %d Stunden vor der Reservierung möglich.",
	},
	// Cancellation quotes.
	"A reservation that is %s cannot be cancelled.": {
		fr: "Une réservation au statut %s ne peut pas être annulée.",
		de: "Eine Reservierung mit dem Status %s kann nicht storniert werden.",
	},
	"Cancelling now releases the hold; nothing was charged.": {
		fr: "Annuler maintenant libère la réservation provisoire ; rien n'a été débité.",
		de: "Eine Stornierung jetzt gibt die vorläufige Reservierung frei; es wurde nichts belastet.",
	},
	"Cancelling now is free.": {
		fr: "Annuler maintenant est gratuit.",
		de: "Eine Stornierung jetzt ist kostenlos.",
	},
	"Cancelling now refunds %s %s in full.": {
		fr: "Annuler maintenant rembourse %s %s en totalité.",
		de: "Eine Stornierung jetzt erstattet %s %s vollständig.",
	},
	"Cancelling now refunds %s %s and keeps %s %s.": {
		fr: "Annuler maintenant rembourse %s %s et retient %s %s.",
		de: "Eine Stornierung jetzt erstattet %s %s und behält %s %s ein.",
	},
	// Prices.
	// Payment policies.
	"The full price is charged when the booking is confirmed.": {
		fr: "Le prix total est débité à la confirmation de la réservation.",
		de: "Der volle Preis wird bei der Bestätigung der Reservierung belastet.",
	},
	"A deposit of %s %s per guest is charged when the booking is confirmed and credited against the bill.": {
		fr: "Un acompte de %s %s par personne est débité à la confirmation de la réservation et déduit de l'addition.",
		de: "Eine Anzahlung von %s %s pro Person wird bei der Bestätigung der Reservierung belastet und auf die Rechnung angerechnet.",
	},
	"A deposit of %s %s per booking is charged when the booking is confirmed and credited against the bill.": {
		fr: "Un acompte de %s %s par réservation est débité à la confirmation de la réservation et déduit de l'addition.",
		de: "Eine Anzahlung von %s %s pro Reservierung wird bei der Bestätigung der Reservierung belastet und auf die Rechnung angerechnet.",
	},
	"A card guarantee: nothing is charged at booking; a no-show or a late cancellation costs %s %s per guest.": {
		fr: "Garantie par carte : rien n'est débité à la réservation ; une absence ou une annulation tardive coûte %s %s par personne.",
		de: "Kartengarantie: Bei der Buchung wird nichts belastet; Nichterscheinen oder eine späte Stornierung kostet %s %s pro Person.",
	},
	"A card guarantee: nothing is charged at booking; a no-show or a late cancellation costs %s %s per booking.": {
		fr: "Garantie par carte : rien n'est débité à la réservation ; une absence ou une annulation tardive coûte %s %s par réservation.",
		de: "Kartengarantie: Bei der Buchung wird nichts belastet; Nichterscheinen oder eine späte Stornierung kostet %s %s pro Reservierung.",
	},
	"Nothing is charged for this booking.": {
		fr: "Rien n'est débité pour cette réservation.",
		de: "Für diese Reservierung wird nichts belastet.",
	},
	"%s %s per guest":   {fr: "%s %s par personne", de: "%s %s pro Person"},
	"%s %s per booking": {fr: "%s %s par réservation", de: "%s %s pro Buchung"},
	// The venue's charges after a price (server.chargesInWords).
	", plus %s service charge": {fr: ", plus %s de frais de service", de: ", zuzüglich %s Servicegebühr"},
	", %s tax included":        {fr: ", %s de taxes comprises", de: ", inklusive %s Steuer"},
	", plus %s tax":            {fr: ", plus %s de taxes", de: ", zuzüglich %s Steuer"},
	// The venue's email (internal/webhooks, the email connector).
	"New reservation: %s, party of %d, %s": {
		fr: "Nouvelle réservation : %s, %d personnes, %s",
		de: "Neue Reservierung: %s, %d Personen, %s",
	},
	"Reservation changed: %s, party of %d, %s": {
		fr: "Réservation modifiée : %s, %d personnes, %s",
		de: "Reservierung geändert: %s, %d Personen, %s",
	},
	"Reservation cancelled: %s, party of %d, %s": {
		fr: "Réservation annulée : %s, %d personnes, %s",
		de: "Reservierung storniert: %s, %d Personen, %s",
	},
	"%s, party of %d":    {fr: "%s, %d personnes", de: "%s, %d Personen"},
	"Venue":              {fr: "Établissement", de: "Restaurant"},
	"Reservation":        {fr: "Réservation", de: "Reservierung"},
	"Status":             {fr: "Statut", de: "Status"},
	"Date and time":      {fr: "Date et heure", de: "Datum und Uhrzeit"},
	"Duration (minutes)": {fr: "Durée (minutes)", de: "Dauer (Minuten)"},
	"Party size":         {fr: "Nombre de personnes", de: "Anzahl der Personen"},
	"Seating area":       {fr: "Espace", de: "Bereich"},
	"Confirmation code":  {fr: "Code de confirmation", de: "Bestätigungscode"},
	"Guest":              {fr: "Client", de: "Gast"},
	"Phone":              {fr: "Téléphone", de: "Telefon"},
	"Email":              {fr: "E-mail", de: "E-Mail"},
	"Language":           {fr: "Langue", de: "Sprache"},
	"Loyalty number":     {fr: "Numéro de fidélité", de: "Kundennummer"},
	"Room number":        {fr: "Numéro de chambre", de: "Zimmernummer"}, //nolint:misspell // French, not a misspelling of chamber
	"Marketing consent":  {fr: "Accord pour la prospection", de: "Einwilligung in Werbung"},
	"Yes":                {fr: "Oui", de: "Ja"},
	"No":                 {fr: "Non", de: "Nein"},
	"Notes":              {fr: "Remarques", de: "Anmerkungen"},
	"Answers":            {fr: "Réponses", de: "Antworten"},
	"This booking was made through PRIMA. The attached calendar event adds it to your calendar, or updates or cancels it there.": {
		fr: "Cette réservation a été faite via PRIMA. L'événement joint l'ajoute à votre agenda, ou l'y met à jour ou l'annule.",
		de: "Diese Reservierung wurde über PRIMA vorgenommen. Der angehängte Kalendereintrag fügt sie Ihrem Kalender hinzu oder aktualisiert bzw. storniert sie dort.",
	},
}
