"""The insured's on-demand pages (issue 5, point 9): sign up, choose a product and read its
exclusions in plain words, activate now or schedule, see "covered now", download and verify the
certificate, extend or stop early, connect a calendar, declare a claim with photos, and read the
monthly statement. French by default, English with the language switch; every page works
without JavaScript.

The pages act for one "web" tenant (the demo tenant of ``polis demo`` unless the app says
otherwise) and identify the insured by a signed token in an HttpOnly cookie — see
:mod:`polis.web.ondemand_space`. Everything goes through the same use cases as the partner API
(:mod:`polis.services.ondemand_customers`, ``…_subscriptions``, ``…_windows``, ``…_triggers``,
``…_billing``, ``…_certificates``) and the claims engine (:mod:`polis.services.claims`,
``claim_evidence``); a refused request shows the form again with the message in plain words and
the field it is about, with the HTTP status of the API (409 for a business refusal such as a
limit, 422 for bad input).

============================================================  =======================================
route                                                         page
============================================================  =======================================
``GET /ondemand``                                             what it is; the products and prices
``GET|POST /ondemand/signup``                                 person or business → a customer
``GET /ondemand/me[?token=…]``                                the personal space (status, limits)
``POST /ondemand/me/verify``                                  demo shortcut: verify one's identity
``POST /ondemand/me/forget``                                  forget the space on this browser
``GET /ondemand/me/statement[.json|.pdf]?month=YYYY-MM``      monthly statement
``GET|POST /ondemand/products/{product}``                     options, exclusions, subscribe
``GET /ondemand/subscriptions/{id}``                          covered now, activate, windows, calendar
``GET /ondemand/subscriptions/{id}/terms.json``               the terms snapshot as accepted
``POST /ondemand/subscriptions/{id}/activate``                now (for a duration) or scheduled
``POST /ondemand/subscriptions/{id}/calendar``                ICS upload or address → windows
``GET|POST /ondemand/subscriptions/{id}/claim``               declare a claim with photos
``GET /ondemand/windows/{id}``                                price breakdown, certificate links
``POST /ondemand/windows/{id}/extend|stop|cancel``            change the window (refund shown)
``GET /ondemand/certificates/{number}.pdf``                   the certificate (download)
============================================================  =======================================
"""

from __future__ import annotations

from fastapi import APIRouter

from polis.web.ondemand_product_pages import router as product_router
from polis.web.ondemand_space_pages import router as space_router
from polis.web.ondemand_window_pages import router as window_router

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(space_router)
router.include_router(product_router)
router.include_router(window_router)
