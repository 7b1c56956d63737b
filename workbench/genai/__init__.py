"""The committee's own tests of generative tools (issue 15)."""
