<?php
/**
 * A WooCommerce REST key for the simulator, run by bootstrap.sh with `wp eval-file`.
 *
 * WooCommerce has no REST route or wp-cli command for keys, so the row is written directly. The key pair
 * comes from the environment (WC_CK/WC_CS) so that the simulator's settings are known in advance; the
 * table stores only the key's HMAC (wc_api_hash), which is what the REST authentication looks up.
 */

global $wpdb;

$ck = getenv('WC_CK') ?: 'ck_' . wc_rand_hash();
$cs = getenv('WC_CS') ?: 'cs_' . wc_rand_hash();
$admin = get_users(['role' => 'administrator', 'number' => 1, 'fields' => 'ID', 'orderby' => 'ID']);
$table = $wpdb->prefix . 'woocommerce_api_keys';

$wpdb->delete($table, ['description' => 'stocksim']); // idempotent: one key, replaced on every bootstrap
$inserted = $wpdb->insert($table, [
    'user_id' => $admin ? (int) $admin[0] : 1,
    'description' => 'stocksim',
    'permissions' => 'read_write',
    'consumer_key' => wc_api_hash($ck),
    'consumer_secret' => $cs,
    'truncated_key' => substr($ck, -7),
]);
if ($inserted !== 1) {
    WP_CLI::error('could not insert the REST key: ' . $wpdb->last_error);
}
WP_CLI::success('REST key ...' . substr($ck, -7) . ' for user ' . ($admin ? $admin[0] : 1));
