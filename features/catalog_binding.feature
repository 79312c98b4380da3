@mode_crm @binding
Feature: How the stock sync finds the shop product of a CRM offer
  The module's stock sync binds a CRM offer to a shop product by the offer's
  externalId (the product id), or, with "bind by SKU", by its xmlId, which the
  shop's catalog file fills with the SKU. A variation is set from its own
  offer and the variable product gets the sum of its variations; external
  products are skipped.
  Source: the module's inventories job (behaviour-model.md, "The connector's
  jobs"; docs/shop.md, "inventories"); the source document is silent here.

  Background:
    Given stock is kept in the CRM

  # The CRM learns the new SKU only from the shop's catalog file: until it imports the next one,
  # its offer's xmlId names a SKU no product has.
  @module
  Scenario: Binding by SKU - the stock sync finds the product by the SKU the CRM last imported
    Given the connector binds products by SKU
    And a product with 10 units in stock
    When the shop admin gives the product a new SKU
    And a CRM manager creates an order for 2 units
    Then the CRM stock is 8 at once
    And the shop stock stays 10 until the next stock sync after the CRM's next catalog import, which sets it to 8

  @module
  Scenario: Binding by id - a new SKU does not matter to the stock sync
    Given a product with 10 units in stock
    When the shop admin gives the product a new SKU
    And a CRM manager creates an order for 2 units
    Then the CRM stock is 8 at once
    And the shop stock stays 10 until the next stock sync, which sets it to 8

  @module
  Scenario: Variable product - each variation takes its offer's stock and the parent their sum
    Given a variable product whose two variations have 4 and 6 units in stock
    When a CRM manager creates an order for 1 units of the first variation
    Then the CRM stock of the first variation is 3 at once
    And the shop stock of the variable product is 10 at once
    And the shop stock of the first variation stays 4 until the next stock sync, which sets it to 3
    And that stock sync sets the shop stock of the variable product to 9
    And that stock sync leaves the shop stock of the second variation at 6

  # WooCommerce keeps no stock count for an external product; the module does not try to set one.
  @module
  Scenario: External product - the stock sync skips it whatever the CRM holds
    Given an external product
    When the CRM manager receives 5 units of the external product at the "main" warehouse
    Then the CRM stock of the external product is 5 at once
    And the next stock sync leaves the external product without a stock count in the shop
