// test/legacy_entities: entity nodes as graphfraud wrote them before the entity registry (no :Entity), for the
// migration test. Parameters: none.
CREATE (:Card {card_id: 'old-c'}), (:Merchant {merchant_id: 'old-m', mcc: '5411'}), (:Device {device_id: 'old-d'}),
       (:IP {ip: '10.9.9.9'})
