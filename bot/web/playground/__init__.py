"""The browser playground: anyone can try every role of the demo province, pushes included
(world.py: the sandbox; routes.py: the page and its API; personas.py: who one can be)."""
