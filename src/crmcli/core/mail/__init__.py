"""Mail into the timeline: reading mailboxes (:mod:`.reading`) and matching their messages
to customers and leads (:mod:`.intake`)."""
