@mode_crm @prerequisites
Feature: The four prerequisites of stock kept in the CRM
  For the CRM to keep the stock, the CRM's settings must keep the site's
  catalog in the system, assign a warehouse to the site and enable stock
  editing; on the WooCommerce side the module's "Stock synchronization" must
  be on. Each scenario turns exactly one of the four off.
  With one of the CRM's three off, the CRM does not keep the stock: an order a
  manager creates writes nothing off, and the CRM's quantities come from the
  shop's catalog file. The module does not look at those settings: its stock
  sync still sets the shop to the CRM's numbers, which no longer move.
  With the module's synchronization off, the CRM keeps the stock but the shop
  never takes the CRM's numbers.
  Source: setting-stock, "Stock management", the note on prerequisites;
  behaviour-model.md, "CRM stock rules".

  Background:
    Given stock is kept in the CRM
    And a product with 10 units in stock

  @documented
  Scenario: Prerequisites - the site's catalog is not kept in the CRM, a CRM order writes nothing off
    Given the site does not keep its catalog in the CRM
    When a CRM manager creates an order for 2 units
    Then the CRM stock is 10 at once
    And the next stock sync keeps the shop stock at 10
    And the CRM stock has been 10 throughout

  @documented
  Scenario: Prerequisites - no warehouse is assigned to the site, a CRM order writes nothing off
    Given no warehouse is assigned to the site
    When a CRM manager creates an order for 2 units
    Then the CRM stock is 10 at once
    And the next stock sync keeps the shop stock at 10
    And the CRM stock has been 10 throughout

  @documented
  Scenario: Prerequisites - stock editing is off, a CRM order writes nothing off
    Given stock editing is off for the site
    When a CRM manager creates an order for 2 units
    Then the CRM stock is 10 at once
    And the next stock sync keeps the shop stock at 10
    And the CRM stock has been 10 throughout

  # With stock editing on, the catalog import would create the offer and ignore its quantity.
  @documented
  Scenario: Prerequisites - stock editing is off, the CRM takes a new product's stock from the catalog import
    Given stock editing is off for the site
    When the shop admin adds a product with 4 units in stock
    Then the CRM knows no stock of it until the first catalog import after the shop's next catalog file, which sets it to 4
    And the shop stock has been 4 since it was added

  @documented
  Scenario: Prerequisites - the module's stock synchronization is off, the shop never takes the CRM's numbers
    Given the connector's stock synchronization is off
    When a CRM manager creates an order for 2 units
    Then the CRM stock is 8 at once
    And the shop stock stays 10 for 30 minutes
    When a customer places an order for 3 units on the site
    Then the shop stock is 7 at once
    And the CRM stock is 5 at once
    And the shop stock stays 7 for 30 minutes
