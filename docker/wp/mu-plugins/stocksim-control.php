<?php
/**
 * Plugin Name: stocksim control plane
 * Description: The simulator's control contract (/__stocksim/...) on a real WordPress + WooCommerce + woo-retailcrm,
 *              the same routes the fake shop serves (docs/admin-api.md), for what a real shop can do.
 *
 * A must-use plugin: it loads before every plugin and cannot be deactivated from wp-admin. Every route but
 * /__stocksim/health needs the header X-Stocksim-Token equal to the container's STOCKSIM_CONTROL_TOKEN,
 * because these routes delete orders and products. Requests are answered at parse_request: after `init`,
 * where WooCommerce builds the plugin's integration and attaches its cron handlers, and before WordPress
 * looks for a post or template for the URL.
 */

if (!defined('ABSPATH')) {
    exit;
}

const STOCKSIM_PREFIX = '/__stocksim/';
const STOCKSIM_SETTINGS_OPTION = 'woocommerce_integration-retailcrm_settings';
const STOCKSIM_BASELINE_OPTION = 'stocksim_baseline';
const STOCKSIM_JOB_HOOKS = [
    'inventories' => 'retailcrm_inventories',
    'history' => 'retailcrm_history',
    'icml' => 'retailcrm_icml',
];
const STOCKSIM_HISTORY_CURSORS = ['retailcrm_orders_history_since_id', 'retailcrm_customers_history_since_id'];
/** WooCommerce options the bootstrap sets and a reset restores. */
const STOCKSIM_SHOP_OPTIONS = [
    'woocommerce_manage_stock', 'woocommerce_currency', 'woocommerce_hold_stock_minutes',
    'woocommerce_notify_no_stock_amount', 'woocommerce_notify_low_stock_amount', 'woocommerce_coming_soon',
];
/** Gateways whose classic-checkout payment step sets a status (what WC's own gateways do). */
const STOCKSIM_GATEWAY_STATUS = ['cod' => 'processing', 'bacs' => 'on-hold', 'cheque' => 'on-hold'];

add_action('parse_request', 'stocksim_dispatch', 0);

function stocksim_dispatch(): void
{
    $path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '', PHP_URL_PATH);
    if (strpos($path, STOCKSIM_PREFIX) !== 0) {
        return;
    }
    $route = trim(substr($path, strlen(STOCKSIM_PREFIX)), '/');
    $method = strtoupper($_SERVER['REQUEST_METHOD'] ?? 'GET');
    if ($route === 'health') {
        stocksim_answer(...stocksim_health());
    }
    $refusal = stocksim_refusal();
    if ($refusal !== null) {
        stocksim_answer(...$refusal);
    }
    stocksim_as_admin();
    stocksim_answer(...stocksim_route($method, $route, stocksim_body()));
}

/** @return array{0: array, 1: int} */
function stocksim_route(string $method, string $route, $body): array
{
    if ($method === 'POST' && preg_match('#^connector/jobs/([^/]+)$#', $route, $m)) {
        return stocksim_run_job($m[1]);
    }
    if ($route === 'connector/settings' && in_array($method, ['GET', 'PUT'], true)) {
        return $method === 'GET' ? [stocksim_connector_settings(), 200] : stocksim_update_connector_settings($body);
    }
    if ($route === 'checkout' && $method === 'POST') {
        return stocksim_checkout($body);
    }
    if ($route === 'reset' && $method === 'POST') {
        return [stocksim_reset(), 200];
    }
    if ($route === 'clock' && in_array($method, ['GET', 'PUT', 'POST'], true)) {
        return [stocksim_clock($body), 200];
    }
    return [['error' => "no control route $method /__stocksim/$route on the real shop"], 404];
}

function stocksim_answer(array $data, int $status): void
{
    wp_send_json($data, $status); // ends the request; shutdown hooks (the plugin's order pushes) still run
}

/** @return array{0: array, 1: int}|null */
function stocksim_refusal(): ?array
{
    $expected = (string) getenv('STOCKSIM_CONTROL_TOKEN');
    if ($expected === '') {
        return [['error' => 'STOCKSIM_CONTROL_TOKEN is not set in the WordPress container: control routes are off'], 503];
    }
    $given = (string) ($_SERVER['HTTP_X_STOCKSIM_TOKEN'] ?? '');
    return hash_equals($expected, $given) ? null : [['error' => 'missing or wrong X-Stocksim-Token'], 403];
}

function stocksim_body()
{
    $raw = (string) file_get_contents('php://input');
    return $raw === '' ? null : json_decode($raw, true);
}

/** Control calls act for the shop's administrator, as the fake's admin plane does (REST order JSON needs it). */
function stocksim_as_admin(): void
{
    $ids = get_users(['role' => 'administrator', 'number' => 1, 'fields' => 'ID', 'orderby' => 'ID']);
    if ($ids) {
        wp_set_current_user((int) $ids[0]);
    }
}

/** @return array{0: array, 1: int} */
function stocksim_health(): array
{
    $checks = [
        'woocommerce' => function_exists('WC') && class_exists('WC_Order'),
        'woo_retailcrm' => has_action('retailcrm_inventories') !== false,
        'baseline' => is_array(get_option(STOCKSIM_BASELINE_OPTION)),
        'control_token' => getenv('STOCKSIM_CONTROL_TOKEN') !== false && getenv('STOCKSIM_CONTROL_TOKEN') !== '',
        'wp_cron_disabled' => defined('DISABLE_WP_CRON') && DISABLE_WP_CRON,
    ];
    $ok = !in_array(false, $checks, true);
    return [['ok' => $ok] + $checks, $ok ? 200 : 503];
}

// -- connector jobs: the plugin's cron hooks, run now --------------------------------------------------

/** @return array{0: array, 1: int} */
function stocksim_run_job(string $job): array
{
    if (!isset(STOCKSIM_JOB_HOOKS[$job])) {
        return [['error' => "unknown job '$job'", 'jobs' => array_keys(STOCKSIM_JOB_HOOKS)], 404];
    }
    $hook = STOCKSIM_JOB_HOOKS[$job];
    if (has_action($hook) === false) {
        return [['error' => "nothing is hooked on $hook: is woo-retailcrm active and WooCommerce loaded?"], 409];
    }
    $settings = stocksim_connector_settings();
    $skipped = stocksim_job_skip_reason($job, $settings);
    $calls = stocksim_count_crm_calls((string) ($settings['api_url'] ?? ''));
    $before = stocksim_stock_levels();
    do_action($hook); // as WP-Cron would; the plugin's handler applies its own guards
    $after = stocksim_stock_levels();
    $log = $calls();
    $failed = array_filter($log, fn (array $call): bool => $call['status'] === 0 || $call['status'] >= 500);
    return [[
        'job' => $job,
        'ran' => $skipped === null,
        'ok' => $skipped === null && !$failed,
        'requests' => count($log),
        'detail' => $skipped ?? stocksim_calls_text($log),
        'changed' => stocksim_stock_diff($before, $after),
    ], 200];
}

/** Why the plugin's handler returns without work (module-behaviour.md §1.1 "Handler guards"), or null. */
function stocksim_job_skip_reason(string $job, array $settings): ?string
{
    if (empty($settings['api_url']) || empty($settings['api_key'])) {
        return 'the plugin has no API URL or key: its handler builds no client';
    }
    if ($job === 'inventories' && ($settings['sync'] ?? 'no') !== 'yes') {
        return 'the plugin setting "sync" is not "yes": load_stocks does nothing';
    }
    return null;
}

/**
 * Records every HTTP call WordPress makes to the CRM from now on; the returned closure gives the list.
 * The plugin talks to the CRM with wp_remote_request, which reports each answer on http_api_debug.
 */
function stocksim_count_crm_calls(string $api_url): callable
{
    $log = [];
    $base = rtrim($api_url, '/');
    add_action('http_api_debug', function ($response, $context, $class, $args, $url) use (&$log, $base): void {
        if ($base === '' || strpos((string) $url, $base) !== 0) {
            return;
        }
        $status = is_wp_error($response) ? 0 : (int) wp_remote_retrieve_response_code($response);
        $log[] = ['method' => $args['method'] ?? 'GET', 'path' => (string) parse_url($url, PHP_URL_PATH), 'status' => $status];
    }, 10, 5);
    return function () use (&$log): array {
        return $log;
    };
}

function stocksim_calls_text(array $log): string
{
    if (!$log) {
        return 'no CRM request';
    }
    $lines = array_map(fn (array $c): string => "{$c['method']} {$c['path']} -> " . ($c['status'] ?: 'transport error'), $log);
    return implode('; ', $lines);
}

/** Every product's and variation's stock straight from the database (no object cache in between). */
function stocksim_stock_levels(): array
{
    global $wpdb;
    $rows = $wpdb->get_results(
        "SELECT p.ID AS id, pm.meta_value AS stock FROM {$wpdb->posts} p
         JOIN {$wpdb->postmeta} pm ON pm.post_id = p.ID AND pm.meta_key = '_stock'
         WHERE p.post_type IN ('product', 'product_variation')",
        ARRAY_A
    );
    $levels = [];
    foreach ($rows as $row) {
        $levels[(string) $row['id']] = is_numeric($row['stock']) ? (int) round((float) $row['stock']) : null;
    }
    return $levels;
}

function stocksim_stock_diff(array $before, array $after): object
{
    $changed = [];
    foreach ($after as $id => $stock) {
        if (!array_key_exists($id, $before) || $before[$id] !== $stock) {
            $changed[$id] = $stock;
        }
    }
    return (object) $changed; // {} rather than [] when nothing changed, as the fake answers
}

// -- the plugin's settings ------------------------------------------------------------------------------

function stocksim_connector_settings(): array
{
    $settings = get_option(STOCKSIM_SETTINGS_OPTION, []);
    return is_array($settings) ? $settings : [];
}

/** @return array{0: array, 1: int} */
function stocksim_update_connector_settings($patch): array
{
    if (!is_array($patch) || ($patch && array_is_list($patch))) {
        return [['error' => 'the body must be a JSON object'], 400];
    }
    foreach (['stores_for_uploading', 'order_methods'] as $list) {
        if (array_key_exists($list, $patch) && !(is_array($patch[$list]) && array_is_list($patch[$list]))) {
            return [['error' => "$list must be a list"], 400];
        }
    }
    // Written directly, as `wp option update` would: the admin form's URL validator and its cron
    // scheduling (api_sanitized) do not run, which is what lets api_url point at the fake CRM.
    $settings = array_merge(stocksim_connector_settings(), $patch);
    update_option(STOCKSIM_SETTINGS_OPTION, $settings);
    return [$settings, 200];
}

// -- checkout: WooCommerce's classic checkout, without a browser ----------------------------------------

/** @return array{0: array, 1: int} */
function stocksim_checkout($body): array
{
    $body = is_array($body) ? $body : [];
    $lines = stocksim_checkout_lines($body['line_items'] ?? null);
    if (isset($lines['code'])) {
        return [$lines, $lines['data']['status']];
    }
    $payment_method = (string) ($body['payment_method'] ?? 'cod');
    $order = stocksim_new_checkout_order($lines, is_array($body['billing'] ?? null) ? $body['billing'] : [], $payment_method);
    try {
        // WC_Checkout::create_order's last step: reserve stock for the pending order (wc_reserve_stock_for_order).
        do_action('woocommerce_checkout_order_created', $order);
    } catch (Exception $exc) {
        $order->delete(true);
        return [stocksim_wc_error('woocommerce_product_not_enough_stock', $exc->getMessage(), 400), 400];
    }
    // The hook woo-retailcrm uploads the order on (POST /orders/create), before payment, as on the site.
    $posted = ['payment_method' => $payment_method] + stocksim_prefixed($order->get_address('billing'), 'billing_');
    do_action('woocommerce_checkout_order_processed', $order->get_id(), $posted, $order);
    stocksim_take_payment($order, $payment_method);
    return [stocksim_rest_order($order->get_id()), 201];
}

/** The cart's lines as [product, quantity], or a WooCommerce-style error. */
function stocksim_checkout_lines($items): array
{
    if (!is_array($items) || !$items) {
        return stocksim_wc_error('rest_invalid_param', 'Invalid parameter(s): line_items', 400);
    }
    $lines = [];
    foreach ($items as $item) {
        $id = (int) (($item['variation_id'] ?? 0) ?: ($item['product_id'] ?? 0));
        $quantity = (int) ($item['quantity'] ?? 1);
        $product = $id ? wc_get_product($id) : null;
        if (!$product || !$product->is_purchasable() || $quantity < 1) {
            return stocksim_wc_error('woocommerce_rest_cart_invalid_product', 'This product cannot be added to the cart.', 400);
        }
        if (!stocksim_has_stock_for($product, $quantity)) {
            $message = sprintf('Not enough units of %s are available in stock to fulfil this order.', $product->get_name());
            return stocksim_wc_error('woocommerce_product_not_enough_stock', $message, 400);
        }
        $lines[] = [$product, $quantity];
    }
    return $lines;
}

/** The cart check: stock minus what other pending checkouts hold must cover the quantity. */
function stocksim_has_stock_for(WC_Product $product, int $quantity): bool
{
    if (!$product->managing_stock() || $product->backorders_allowed()) {
        return $product->is_in_stock();
    }
    return (int) $product->get_stock_quantity() - (int) wc_get_held_stock_quantity($product) >= $quantity;
}

function stocksim_new_checkout_order(array $lines, array $billing, string $payment_method): WC_Order
{
    $order = new WC_Order();
    $order->set_created_via('checkout');
    $order->set_status('pending');
    $order->set_currency(get_woocommerce_currency());
    foreach ($lines as [$product, $quantity]) {
        $order->add_product($product, $quantity);
    }
    $order->set_address(array_intersect_key($billing, array_flip(stocksim_billing_fields())), 'billing');
    $gateways = WC()->payment_gateways() ? WC()->payment_gateways()->payment_gateways() : [];
    $order->set_payment_method($gateways[$payment_method] ?? $payment_method);
    $order->calculate_totals();
    $order->save(); // one save with the items, as WC_Checkout::create_order: woocommerce_new_order sees them
    return $order;
}

function stocksim_billing_fields(): array
{
    return ['first_name', 'last_name', 'company', 'address_1', 'address_2', 'city', 'state', 'postcode', 'country', 'email', 'phone'];
}

function stocksim_prefixed(array $fields, string $prefix): array
{
    $out = [];
    foreach ($fields as $key => $value) {
        $out[$prefix . $key] = $value;
    }
    return $out;
}

/**
 * The gateway's process_payment, reduced to the status it sets: cod -> processing, bacs/cheque -> on-hold,
 * others stay pending. WooCommerce reduces stock on that status change (wc_maybe_reduce_stock_levels).
 * The gateways' own process_payment also empties the session cart, which a control request does not have.
 */
function stocksim_take_payment(WC_Order $order, string $payment_method): void
{
    $status = STOCKSIM_GATEWAY_STATUS[$payment_method] ?? null;
    if ($status !== null) {
        $order->update_status($status, 'stocksim checkout: ' . $payment_method);
    }
}

function stocksim_rest_order(int $order_id): array
{
    $response = rest_do_request(new WP_REST_Request('GET', "/wc/v3/orders/$order_id"));
    return (array) rest_get_server()->response_to_data($response, false);
}

function stocksim_wc_error(string $code, string $message, int $status): array
{
    return ['code' => $code, 'message' => $message, 'data' => ['status' => $status]];
}

// -- reset and baseline -----------------------------------------------------------------------------

/** Called once by docker/wp/bootstrap.sh: what a reset returns to. */
function stocksim_save_baseline(): array
{
    $options = [];
    foreach (STOCKSIM_SHOP_OPTIONS as $name) {
        $options[$name] = get_option($name);
    }
    $baseline = ['options' => $options, 'connector_settings' => stocksim_connector_settings()];
    update_option(STOCKSIM_BASELINE_OPTION, $baseline, false);
    return $baseline;
}

function stocksim_reset(): array
{
    $orders = stocksim_delete_orders();
    $products = stocksim_delete_products();
    $baseline = get_option(STOCKSIM_BASELINE_OPTION);
    $restored = is_array($baseline) ? stocksim_restore($baseline) : [];
    foreach (STOCKSIM_HISTORY_CURSORS as $cursor) {
        delete_option($cursor); // the plugin's next history run starts afresh (filter[startDate])
    }
    $files = stocksim_delete_catalog_files();
    stocksim_clear_reservations();
    wc_delete_product_transients();
    wp_cache_flush();
    return [
        'reset' => true,
        'deleted' => ['orders' => $orders, 'products' => $products, 'files' => $files],
        'restored' => $restored,
        'baseline' => is_array($baseline),
    ];
}

function stocksim_delete_orders(): int
{
    $statuses = array_merge(array_keys(wc_get_order_statuses()), ['trash', 'checkout-draft']);
    $ids = wc_get_orders(['limit' => -1, 'return' => 'ids', 'status' => $statuses, 'type' => 'shop_order']);
    foreach ($ids as $id) {
        $order = wc_get_order($id);
        if ($order) {
            $order->delete(true); // a hard delete restores no stock: products are deleted next anyway
        }
    }
    return count($ids);
}

/** The baseline holds no product (the fake shop's reset empties its catalogue too). */
function stocksim_delete_products(): int
{
    $ids = get_posts(['post_type' => ['product', 'product_variation'], 'post_status' => 'any', 'numberposts' => -1,
        'fields' => 'ids', 'orderby' => 'ID', 'order' => 'DESC']);
    foreach ($ids as $id) {
        $product = wc_get_product($id);
        $product ? $product->delete(true) : wp_delete_post($id, true);
    }
    return count($ids);
}

/** Restores the bootstrap's options; the plugin's api_url stays, as the fake keeps its wiring. */
function stocksim_restore(array $baseline): array
{
    foreach ($baseline['options'] ?? [] as $name => $value) {
        update_option($name, $value);
    }
    $settings = $baseline['connector_settings'] ?? [];
    $current = stocksim_connector_settings();
    if (isset($current['api_url'])) {
        $settings['api_url'] = $current['api_url'];
    }
    update_option(STOCKSIM_SETTINGS_OPTION, $settings);
    return array_merge(array_keys($baseline['options'] ?? []), [STOCKSIM_SETTINGS_OPTION]);
}

/** The plugin's ICML file (ABSPATH/simla.xml, or uploads/ when ABSPATH is read-only). */
function stocksim_delete_catalog_files(): array
{
    $deleted = [];
    foreach ([ABSPATH . 'simla.xml', wp_upload_dir()['basedir'] . '/simla.xml'] as $file) {
        if (is_file($file) && unlink($file)) {
            $deleted[] = basename(dirname($file)) . '/' . basename($file);
        }
    }
    return $deleted;
}

function stocksim_clear_reservations(): void
{
    global $wpdb;
    $table = $wpdb->prefix . 'wc_reserved_stock';
    if ($wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $table)) === $table) {
        $wpdb->query("DELETE FROM $table");
    }
}

// -- clock ----------------------------------------------------------------------------------------------

/** Accepted and ignored: WordPress, WooCommerce and the plugin read the wall clock, which we cannot set. */
function stocksim_clock($body): array
{
    $now = is_array($body) && isset($body['now']) && is_numeric($body['now']) ? (float) $body['now'] : null;
    return [
        'now' => $now,
        'ignored' => true,
        'wall_clock' => gmdate('Y-m-d H:i:s'),
        'detail' => 'a real WordPress runs on the wall clock; only the CRM follows the simulated time',
    ];
}
