"""Her call with her message's questions: the in-call flow (ivr/flow.py) and the question
machine (ivr/questions.py) composed into one pure machine, driven by run_flow like the flow
alone (issue 15).

The flow runs as ever; when it would close normally (she heard her message and did not stop,
hang up or ask for the call centre) it asks for the questions (AskQuestions): the question
machine then runs to its end, and the flow goes on to its goodbye. A hang-up during the
questions ends both; the answers given before it are kept (`questions`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ivr.flow import (Answered, AskQuestions, CallFlow, Event, HungUp, Played,
                      QuestionsAsked)
from ivr.flow import Action as FlowAction
from ivr.questions import ENDED_HANGUP, QuestionMachine, QuestionsDone, QuestionsResult


@dataclass
class CallWithQuestions:
    flow: CallFlow
    machine: QuestionMachine
    _asking: bool = field(default=False, init=False)    # the machine has the call
    _asked: bool = field(default=False, init=False)     # the machine was started

    def start(self) -> FlowAction:
        return self._route(self.flow.start())

    def step(self, event: Event) -> FlowAction:
        if self._asking:
            if not isinstance(event, (Answered, Played, HungUp)):
                raise ValueError(f"CallWithQuestions.step: a question waits, got {event!r}")
            return self._route(self.machine.step(event))
        return self._route(self.flow.step(event))

    @property
    def questions(self) -> QuestionsResult | None:
        """Her answers (final once the flow finished); None when they were never asked."""
        return self.machine.result if self._asked else None

    def _route(self, action: FlowAction | QuestionsDone) -> FlowAction:
        while True:
            if isinstance(action, AskQuestions):
                self._asking = self._asked = True
                action = self.machine.start()
            elif isinstance(action, QuestionsDone):
                self._asking = False
                hung_up = action.result.ended == ENDED_HANGUP
                action = self.flow.step(HungUp() if hung_up else QuestionsAsked())
            else:
                return action
