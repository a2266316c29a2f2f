//! Shared fixtures for the vta-retry tests.
