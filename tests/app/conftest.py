"""The app in-process (create_app under a test client or an in-thread uvicorn), without a `domolite serve`
process: its lifespan and its answer to an internal error."""
