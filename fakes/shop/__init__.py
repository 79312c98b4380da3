"""The fake WooCommerce shop with the woo-retailcrm plugin model inside it.

``state`` holds WooCommerce's rules, ``connector`` the plugin, ``icml`` the
catalog file writer and ``app`` the HTTP layer (REST v3 + control routes).
"""

from fakes.shop.app import CONSUMER_KEY, CONSUMER_SECRET, ShopApp
from fakes.shop.connector import DEFAULT_CONNECTOR_SETTINGS, Connector
from fakes.shop.state import ShopState

__all__ = ["ShopApp", "ShopState", "Connector", "CONSUMER_KEY", "CONSUMER_SECRET", "DEFAULT_CONNECTOR_SETTINGS"]
