"""Customer outreach: message templates (``templates``) and the channels that send them
(``channels``, through apprise). The contact rules and the message model are in
``recoup.domain.recovery.outreach``; see docs/outreach.md."""
