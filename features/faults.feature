@faults
Feature: Faults - the connector and the fakes keep working and lose nothing
  The CRM misbehaves towards the connector: it is unavailable for a while, it
  fails a history run half-way, it refuses an order upload. The plugin never
  retries a request; what it does not read now it reads at its next run, what
  it does not send is never sent. Each scenario says what converges, when, and
  what is lost. The faults hit only the connector's API key: the stock the
  scenario reads is the CRM's true stock throughout.

  @mode_crm @module
  Scenario Outline: The CRM <fails> the connector's stock requests for 40 minutes; the shop catches up at the next sync
    Given stock is kept in the CRM
    And a product with 10 units in stock
    When a CRM manager creates an order for 2 units
    Then the CRM stock is 8 at once
    When the CRM <fails> stock requests for the next 40 minutes
    Then the shop stock stays 10 through 2 failed stock syncs, and the first stock sync after the CRM is back sets it to 8
    And the CRM refused the connector 2 times
    And the CRM stock stays 8 for 30 minutes
    And the shop stock stays 8 for 30 minutes

    Examples:
      | fails                     |
      | answers 503 to            |
      | drops the connection on   |
      | answers malformed JSON to |

  # The plugin moves its history cursor (sinceId) past a page before applying it, and
  # stops the run at the first page it cannot read. A failure at page 2 therefore loses
  # nothing: page 1 is applied once, page 2 at the next run.
  @mode_site @module @fakes_only
  Scenario: An order history run fails at its second page; the next run applies the rest, and nothing twice
    Given stock is kept on the site
    And a product with 10 units in stock
    When a CRM manager creates an order for 2 units
    And 10 minutes pass
    Then the shop has 1 order
    When a CRM manager creates 100 orders for 1 unit each
    And the CRM manager sets the order status to "complete"
    And the CRM fails the second page of the next order history run
    Then the next order history run stops at its failed second page
    And the shop stock stays 10 until the next order history run, which sets it to 8
    And the shop has 101 orders
    And the CRM has 101 orders
    And the CRM refused the connector 1 time
    And the shop order count stays 101 for 30 minutes
    And the shop stock stays 8 for 30 minutes

  # The plugin uploads a checkout's order once (retailcrm_process_order) and never again:
  # a refused upload is only logged. With the stock kept in the CRM the sale is never
  # written off there, and the next stock sync puts the sold units back on sale.
  @mode_crm @module
  Scenario: The CRM refuses the order upload at checkout; the order never reaches the CRM and the next sync undoes the write-off
    Given stock is kept in the CRM
    And a product with 10 units in stock
    And the CRM fails the next order upload
    When a customer places an order for 2 units on the site
    Then the shop stock is 8 at once
    And the CRM stock is 10 at once
    And the CRM has 0 orders
    And the shop stock stays 8 until the next stock sync, which sets it back to 10
    And the CRM refused the connector 1 time
    And the CRM stock stays 10 for 60 minutes
    And the CRM still has 0 orders
    And the shop still has 1 order

  # The same refused upload with the stock kept on the site: the shop's write-off stands,
  # and the CRM learns the lower stock from the next catalog import, still without the order.
  @mode_site @module
  Scenario: The CRM refuses the order upload at checkout in mode W; the CRM gets the stock from the catalog, never the order
    Given stock is kept on the site
    And a product with 10 units in stock
    And the CRM fails the next order upload
    When a customer places an order for 2 units on the site
    Then the shop stock is 8 at once
    And the CRM stock is 10 at once
    And the CRM stock stays 10 until the first catalog import after the shop's next catalog file, which sets it to 8
    And the CRM refused the connector 1 time
    And the CRM still has 0 orders
    And the shop stock stays 8 for 60 minutes
