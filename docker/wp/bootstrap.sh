#!/bin/sh
# Installs and configures WordPress + WooCommerce + woo-retailcrm for stocksim, once the wordpress
# container has written wp-config.php. Idempotent: `docker compose run --rm wpcli` may run it again.
# Runs as 33:33 (Debian's www-data, the apache image's owner of /var/www/html), not the cli image's 82.
set -eu
cd /var/www/html

waited=0
until [ -f wp-config.php ]; do
  waited=$((waited + 1))
  if [ "$waited" -gt 180 ]; then echo "bootstrap: no wp-config.php after 180 s" >&2; exit 1; fi
  sleep 1
done

wp core is-installed || wp core install --url="$WP_URL" --title=stocksim --admin_user=admin \
  --admin_password="$WP_ADMIN_PASSWORD" --admin_email=admin@example.test --skip-email
# /wp-json/... and /__stocksim/... reach WordPress through pretty permalinks (the image ships the .htaccess).
wp rewrite structure '/%postname%/'
wp rewrite flush

install_pinned() {  # slug version: wordpress.org's zip at exactly that version, replacing any other
  if [ "$(wp plugin get "$1" --field=version 2>/dev/null || true)" != "$2" ]; then
    wp plugin install "$1" --version="$2" --force
  fi
  wp plugin activate "$1"
}
install_pinned woocommerce "$WC_VERSION"
install_pinned woo-retailcrm "$RETAILCRM_PLUGIN_VERSION"

for pair in "woocommerce_manage_stock yes" "woocommerce_currency RUB" "woocommerce_hold_stock_minutes 60" \
            "woocommerce_notify_no_stock_amount 0" "woocommerce_notify_low_stock_amount 2" \
            "woocommerce_coming_soon no" "woocommerce_default_country RU"; do
  # shellcheck disable=SC2086 # the pair is split on purpose
  set -- $pair
  wp option update "$1" "$2"
done
wp option update woocommerce_onboarding_profile '{"skipped":true}' --format=json
wp wc payment_gateway update cod --enabled=true --user=admin

wp eval-file /stocksim/make-key.php

# The plugin's settings, written directly: the admin form's URL validator (https, *.retailcrm.ru, ...) and
# its cron scheduling do not run, so api_url may be the fake CRM's http://crm:8000 and no event is
# scheduled (DISABLE_WP_CRON is set anyway; the simulator runs each job through the control plane).
sed -e "s|@CRM_URL@|$CRM_URL|" -e "s|@CRM_API_KEY@|$CRM_API_KEY|" /stocksim/retailcrm-settings.json \
  | wp option update woocommerce_integration-retailcrm_settings --format=json
wp option delete retailcrm_orders_history_since_id retailcrm_customers_history_since_id || true

# What POST /__stocksim/reset returns to (the mu-plugin is loaded under wp-cli too).
wp eval 'echo wp_json_encode(stocksim_save_baseline()), "\n";'
echo "bootstrap: done"
