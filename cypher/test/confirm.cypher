// test/confirm: set an analyst's confirmed label on a card, for tests only.
// Parameters: $card_id, $label, $labelled_at (DateTime).
MATCH (c:Card {card_id: $card_id})
SET c.confirmed_label = $label, c.labelled_at = $labelled_at
