"""The Cosmos 3 Reasoner surface: an OpenAI chat-completions client and a success judge built on it."""

from cosmos_robotics.reasoning.client import ReasonerClient, ReasonerReply
from cosmos_robotics.reasoning.judge import ReasonerSuccessJudge, SuccessVerdict

__all__ = ["ReasonerClient", "ReasonerReply", "ReasonerSuccessJudge", "SuccessVerdict"]
