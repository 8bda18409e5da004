"""Who to call, with which message, when. Pure: stdlib only, the clock is passed in.

programme.py   load_programme(): a programme as TOML data (programmes/README.md)
content.py     Track, Message: the messages, built from schedule rules
slots.py       TimeSlot and local-time maths (DST-correct): inside(), next_opening()
timeline.py    where she is in the programme on a date; when a message falls due
model.py       the records (Subscriber, Delivery, Attempt, CallbackRequest), shaped like rows
questions_model.py  Answer (to a question, per call) and FollowUpToOpen: issue 15's facts
question_spec.py    [[question]] of a programme file: Question, which messages it follows
followup_rules.py   [[followup]] rules and followups_to_open(): answers -> follow-ups to open
plan.py        plan_deliveries(): open / supersede / cancel her deliveries
retry.py       after_attempt(), next_retry_at(): delivered, retry when, or undelivered
callbacks.py   missed calls: on_missed_call(), callback_message(), after_callback_attempt()
engagement.py  weeks unanswered, low listening, at_risk()
lifecycle.py   enrol, register_birth, life_event, pause, resume, opt_out, change_slot, fix_record
rules.py       the store's rules (claim, release, unclaim, reap, a change to her) -> Changes
store.py       Schedule: the store interface every store matches (the contract suite runs it)
memory.py      MemoryStore: the store in memory (sync, fast), applying the rules' Changes
memory_schedule.py  MemorySchedule: MemoryStore behind the async Schedule interface
simulation.py  simulate(): the scheduler against simulated phones over simulated days
answer_model.py  her chance to answer per slot (Beta posterior, population prior); the slot of
               a later attempt (Thompson sampling); suggest_slot() (`ivr women suggest-slots`)
beta_compare.py  P(X > Y) for two Beta posteriors, exact (suggest_slot's probability)
retry_slots.py where a message's later attempts go (own, learned): the rule every store applies
outreach.py    engagement chains per group, Whittle index (objective: fewest drops or most
               engaged weeks), rank() for the call centre's outreach list (`ivr outreach list`)
outreach_weeks.py  her weeks for the outreach list: local weeks, the store's weekly rows into
               histories; the outreach call's outcomes
outreach_sim.py  the weekly outreach simulated: none / random / at-risk / whittle / oracle
"""
