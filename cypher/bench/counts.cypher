// bench/counts: how many nodes of each label and relationships of each type the graph holds (count store, fast).
// Used by the build-graph benchmark and tests to compare loads. Parameters: none.
// Returns one row: cards, merchants, devices, ips, transactions, made, at, on_device, from_ip, chargebacks.
RETURN COUNT { MATCH (:Card) } AS cards, COUNT { MATCH (:Merchant) } AS merchants,
       COUNT { MATCH (:Device) } AS devices, COUNT { MATCH (:IP) } AS ips,
       COUNT { MATCH (:Transaction) } AS transactions,
       COUNT { MATCH ()-[:MADE]->() } AS made, COUNT { MATCH ()-[:AT]->() } AS at,
       COUNT { MATCH ()-[:ON_DEVICE]->() } AS on_device, COUNT { MATCH ()-[:FROM_IP]->() } AS from_ip,
       COUNT { MATCH (t:Transaction) WHERE t.chargeback_at IS NOT NULL } AS chargebacks
