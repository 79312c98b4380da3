@cadence @module
Feature: Cadences are parameters
  Every latency the source document promises follows a job's interval. The plugin's
  retailcrm_cron_schedules filter changes the inventories, history and icml intervals
  (module-behaviour.md §1.1); the CRM's catalog import has its own. The clock starts at
  the first action, right after every job due at 0:00 has run: a change made then waits
  a whole interval, the worst case. WP-Cron runs a due job only on the next site hit,
  so a job that fired on time may be followed by one that fires late.
  Source: setting-stock, "once every 15 minutes", "about every 4 hours".

  @mode_crm
  Scenario Outline: A CRM change reaches the shop within one stock sync interval of <minutes> minutes
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And the stock sync runs every <minutes> minutes
    When a CRM manager creates an order for 2 units
    Then the CRM stock is 8 at once
    And the shop stock stays 10 until the next stock sync, which sets it to 8 within <minutes> minutes

    Examples:
      | minutes |
      | 2       |
      | 5       |
      | 15      |
      | 30      |

  # @fakes_only: the history job must read a CRM change, which a real WordPress cannot do here.
  @mode_site @fakes_only
  Scenario Outline: A CRM "complete" reaches the shop within one order history interval of <minutes> minutes
    Given stock is kept on the site
    And a product with 10 units in stock
    And the order history sync runs every <minutes> minutes
    When a CRM manager creates an order for 2 units
    And <minutes> minutes pass
    And the CRM manager sets the order status to "complete"
    Then the shop stock stays 10 until the next order history sync, which sets it to 8 within <minutes> minutes
    And the CRM stock has been 10 throughout

    Examples:
      | minutes |
      | 1       |
      | 5       |
      | 10      |

  # The worst case: the shop changes right after a catalog file, and the import before the
  # next file comes a minute too early, so the change waits both intervals less that minute.
  @mode_site
  Scenario Outline: A shop change reaches the CRM within the catalog file interval plus the import interval (<file> h + <import> h)
    Given stock is kept on the site
    And a product with 10 units in stock
    And the catalog file is generated every <file> hours and imported every <import> hours
    And the first catalog import comes 1 minute before the second catalog file
    When the shop admin sets the product's stock to 12
    Then the CRM stock stays 10 for <stays> minutes
    And the CRM stock becomes 12 within <bound> minutes

    Examples:
      | file | import | stays | bound |
      | 3    | 4      | 418   | 420   |
      | 1    | 4      | 298   | 300   |
      | 3    | 1      | 238   | 240   |

  @mode_crm
  Scenario Outline: WP-Cron <late> minutes late stretches the 15-minute bound to <bound> minutes
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And WP-Cron runs due jobs <late> minutes late
    And the stock sync last fired on time, just before the first action
    When a CRM manager creates an order for 2 units
    Then the shop stock stays 10 for <stays> minutes
    And the shop stock becomes 8 within <bound> minutes

    Examples:
      | late | stays | bound |
      | 0    | 14    | 15    |
      | 3    | 17    | 18    |
      | 10   | 24    | 25    |
