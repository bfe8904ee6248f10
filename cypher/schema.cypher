// schema: uniqueness constraints and indexes of the graphfraud graph.
// Run before any write (Graph.ensure_schema: build-graph, nightly, the test fixture). Idempotent (IF NOT EXISTS).
// Every entity node (graphfraud/registry.py) also carries :Entity {entity_type, entity_id}: entity_key makes that
// pair unique (and indexed) for every entity type, present and future.
// Parameters: none.
CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE (n.entity_type, n.entity_id) IS UNIQUE;
CREATE INDEX entity_id IF NOT EXISTS FOR (n:Entity) ON (n.entity_id);
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
CREATE CONSTRAINT verdict_id IF NOT EXISTS FOR (v:Verdict) REQUIRE v.verdict_id IS UNIQUE;
