// schema: uniqueness constraints and indexes of the graphfraud graph.
// Run before any write (build-graph and the test fixture do). Idempotent (IF NOT EXISTS).
// Parameters: none.
CREATE CONSTRAINT card_id IF NOT EXISTS FOR (c:Card) REQUIRE c.card_id IS UNIQUE;
CREATE CONSTRAINT merchant_id IF NOT EXISTS FOR (m:Merchant) REQUIRE m.merchant_id IS UNIQUE;
CREATE CONSTRAINT device_id IF NOT EXISTS FOR (d:Device) REQUIRE d.device_id IS UNIQUE;
CREATE CONSTRAINT ip_addr IF NOT EXISTS FOR (i:IP) REQUIRE i.ip IS UNIQUE;
CREATE CONSTRAINT transaction_id IF NOT EXISTS FOR (t:Transaction) REQUIRE t.transaction_id IS UNIQUE;
CREATE CONSTRAINT ring_id IF NOT EXISTS FOR (r:FraudRing) REQUIRE r.ring_id IS UNIQUE;
CREATE CONSTRAINT batch_run_date IF NOT EXISTS FOR (b:BatchRun) REQUIRE b.date IS UNIQUE;
CREATE INDEX transaction_timestamp IF NOT EXISTS FOR (t:Transaction) ON (t.timestamp);
CREATE INDEX transaction_chargeback IF NOT EXISTS FOR (t:Transaction) ON (t.chargeback_at);
CREATE CONSTRAINT scoring_run_id IF NOT EXISTS FOR (s:ScoringRun) REQUIRE s.run_id IS UNIQUE;
CREATE CONSTRAINT ring_stage_key IF NOT EXISTS FOR (s:RingStage) REQUIRE (s.run_id, s.ring_id) IS UNIQUE;
