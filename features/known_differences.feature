@known_difference
Feature: Known differences between the source document and the module
  behaviour-model.md lists five places where the module (woo-retailcrm 5.0.14) does
  not do what the source document says or implies. Each has a scenario tagged module
  that asserts what the module does and passes, and, where the document makes a claim,
  one tagged documented that asserts the document's reading: tagged xfail_module too, it
  is a strict xfail whose reason names the difference, so a module that starts following
  the document fails the run until the pair is revisited.

  # 1. The warehouse selection (features/warehouses.feature covers the selection in full).
  @mode_crm @documented @xfail_module @difference_1
  Scenario: Difference 1 (document) - a warehouse outside the selection gives the shop nothing
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And the stock settings select only the "spb" warehouse
    When a CRM manager creates an order for 2 units
    Then the next stock sync keeps the shop stock at 0

  @mode_crm @module @difference_1
  Scenario: Difference 1 (module) - a single-store offer keeps its total whatever the selection
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And the stock settings select only the "spb" warehouse
    When a CRM manager creates an order for 2 units
    Then the shop stock stays 10 until the next stock sync, which sets it to 8

  # 2. The @module side is stock_kept_in_crm.feature's "C3 ... does not auto-cancel items".
  @mode_crm @documented @xfail_module @difference_2
  Scenario: Difference 2 (document) - without auto-cancel a cancelled site order's stock returns in neither system
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And the CRM does not cancel items when an order is cancelled
    When a customer places an order for 2 units on the site
    And 5 minutes pass
    And the shop admin sets the order status to "cancelled"
    Then the CRM stock is 8 at once
    And the shop stock is 8 at once
    And the shop stock stays 8 for 30 minutes

  # 3. W2 says the Completed status writes the stock off in WooCommerce; an order that is
  # created in such a status never passes through "pending -> completed" with its items.
  # @fakes_only: the history job must read a CRM change, which a real WordPress cannot do here.
  @mode_site @documented @xfail_module @difference_3 @fakes_only
  Scenario: Difference 3 (document) - a CRM order created as "complete" is written off in WooCommerce
    Given stock is kept on the site
    And a product with 10 units in stock
    When a CRM manager creates an order for 2 units in the "complete" status
    Then the shop stock becomes 8 within 5 minutes

  @mode_site @module @difference_3 @fakes_only
  Scenario Outline: Difference 3 (module) - a CRM order created as "<status>" is never written off in WooCommerce
    Given stock is kept on the site
    And a product with 10 units in stock
    When a CRM manager creates an order for 2 units in the "<status>" status
    Then the shop stock stays 10 for 30 minutes
    And the CRM stock has been 10 throughout

    Examples:
      | status     |
      | assembling |
      | prepayed   |
      | complete   |

  # 4. The worst case: a shop change right after a catalog file, an import a minute before the next file.
  @mode_site @documented @xfail_module @difference_4
  Scenario: Difference 4 (document) - a shop change reaches the CRM within about 4 hours
    Given stock is kept on the site
    And a product with 10 units in stock
    And the catalog file is generated every 3 hours and imported every 4 hours
    And the first catalog import comes 1 minute before the second catalog file
    When the shop admin sets the product's stock to 12
    Then the CRM stock becomes 12 within 240 minutes

  @mode_site @module @difference_4
  Scenario: Difference 4 (module) - a shop change may wait for the next catalog file and then for the import after it
    Given stock is kept on the site
    And a product with 10 units in stock
    And the catalog file is generated every 3 hours and imported every 4 hours
    And the first catalog import comes 1 minute before the second catalog file
    When the shop admin sets the product's stock to 12
    Then the CRM stock stays 10 until the first catalog import after the shop's next catalog file, which sets it to 12 within 420 minutes

  # 5. "Once every 15 minutes" under WP-Cron: a sync that fired on time, then one that fires 3 minutes late.
  @mode_crm @documented @xfail_module @difference_5
  Scenario: Difference 5 (document) - WooCommerce is updated within 15 minutes even when WP-Cron runs late
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And WP-Cron runs due jobs 3 minutes late
    And the stock sync last fired on time, just before the first action
    When a CRM manager creates an order for 2 units
    Then the shop stock becomes 8 within 15 minutes

  @mode_crm @module @difference_5
  Scenario: Difference 5 (module) - with WP-Cron 3 minutes late the shop waits 18 minutes
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And WP-Cron runs due jobs 3 minutes late
    And the stock sync last fired on time, just before the first action
    When a CRM manager creates an order for 2 units
    Then the shop stock stays 10 for 17 minutes
    And the shop stock becomes 8 within 18 minutes
