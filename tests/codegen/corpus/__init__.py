"""A realistic async package that the codegen tests convert, import and run in sync form."""
