"""Fake RetailCRM and WooCommerce servers: rules/state modules plus thin HTTP layers."""
