@mode_crm @oversell @module
Feature: Oversell while the shop waits for the next stock sync
  The CRM keeps the stock and writes its own orders off at once; the shop shows the
  CRM's number only from the next stock sync on (module: every 15 minutes, changed by
  the plugin's retailcrm_cron_schedules filter). Between the two, a customer can buy on
  the site a unit the CRM has already sold. A CRM manager sells 1 unit every 2 minutes
  and customers buy 1 unit on the site every 2 minutes until the stock runs out; every
  site sale the CRM could no longer cover is counted (property "oversold_units", and the
  sim.oversell line of the timeline).
  The model bounds one sell-out's oversell at interval x crm rate x site rate /
  (crm rate + site rate): here a quarter of the interval in minutes, rounded up. It is
  reached when the CRM sells out half an interval after a stock sync; each row phases
  its stock sync that way (the CRM sells out about 20 minutes after the clock starts).
  Source: setting-stock, "Stock is kept on the CRM side" ("once every 15 minutes").

  Background:
    Given stock is kept in the CRM
    And a product with 20 units in stock

  Scenario Outline: A stock sync every <minutes> minutes oversells at most <maximum> units
    Given the stock sync runs every <minutes> minutes
    And the stock sync first runs <first> minutes after the clock starts
    When for 60 minutes a CRM manager sells 1 unit every 2 minutes and customers buy 1 unit on the site every 2 minutes
    Then the model's bound for these rates is <maximum> units
    And at most <maximum> units were sold on the site that the CRM no longer had

    Examples:
      | minutes | first | maximum |
      | 30      | 5     | 8       |
      | 15      | 12    | 4       |
      | 5       | 2     | 2       |
