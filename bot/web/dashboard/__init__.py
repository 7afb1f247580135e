"""The web dashboard for staff, officers and chairs: rounds, completeness, figures against targets,
a unit's submissions and corrections, notices. Signed in through the chat (/web); mounted at
/dashboard by bot/web/app.py (routes.py: pages; views.py: what each page shows and who may see
it; auth.py: cookie, CSRF, rate limit, security headers; templates/ and static/ served locally)."""
