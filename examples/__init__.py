"""The porting guide as running code: each subpackage is one chapter."""
