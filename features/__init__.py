"""The acceptance specs: Gherkin features of the source document's cases, and their steps."""
