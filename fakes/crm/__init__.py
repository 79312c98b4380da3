"""The fake RetailCRM (API v5): ``state`` holds the rules, ``app`` the HTTP layer."""

from fakes.crm.app import CrmApp
from fakes.crm.state import CONNECTOR_KEY, MANAGER_KEY, SITE_CODE, CrmState

__all__ = ["CrmApp", "CrmState", "CONNECTOR_KEY", "MANAGER_KEY", "SITE_CODE"]
