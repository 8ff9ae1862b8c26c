"""``cosmos-robotics reason``: ask a served Cosmos 3 Reasoner about an image or a video, or judge an episode."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    from cosmos_robotics.cli import add_command

    parser = add_command(
        sub, "reason", "ask a served Cosmos 3 Reasoner about an image or a video, or judge an episode",
        "Sends one OpenAI chat completion to a Cosmos 3 Reasoner (vLLM with the Reasoner override, or a NIM):\n"
        "media as data URLs, the answer printed apart from the <think> block; --judge TASK prints a JSON\n"
        "success verdict for the video. Timeouts, 429 and 5xx are retried --retries times; a refused\n"
        "connection is not.",
        'cosmos-robotics reason --video episode.mp4 --judge "put the marker in the cup"')
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1", help="OpenAI-compatible base URL")
    parser.add_argument("--model", default="nvidia/Cosmos3-Nano", help="served model name")
    parser.add_argument("--image", action="append", default=[], help="PNG/JPEG/WEBP file; repeatable")
    parser.add_argument("--video", default=None, help="an .mp4 file")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--prompt", help="the question")
    what.add_argument("--judge", metavar="TASK", help="judge whether the video shows TASK done (JSON verdict)")
    parser.add_argument("--json-object", action="store_true",
                        help="ask for a JSON answer (response_format) and print it")
    parser.add_argument("--reasoning", action="store_true", help="let the Reasoner reason in a <think> block first")
    parser.add_argument("--show-thinking", action="store_true", help="print the <think> block to stderr")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per attempt")
    parser.add_argument("--retries", type=int, default=2, help="retries on timeout / 429 / 5xx (not on refusal)")
    parser.add_argument("--api-key", default="EMPTY", help="bearer token (vLLM checks it only when started with --api-key)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from cosmos_robotics.reasoning import ReasonerClient, ReasonerSuccessJudge

    client = ReasonerClient(args.base_url, args.model, api_key=args.api_key, timeout=args.timeout, retries=args.retries)
    if args.judge is not None:
        from cosmos_robotics.media import read_image, read_video

        if args.video is None and len(args.image) != 1:
            print("error: --judge needs --video FILE (or one --image)", file=sys.stderr)
            return 2
        frames = read_video(args.video) if args.video else read_image(args.image[0])[None]
        verdict = ReasonerSuccessJudge(client, reasoning=args.reasoning)(frames, args.judge)
        print(json.dumps({"success": verdict.success, "confidence": verdict.confidence, "reason": verdict.reason}))
        if args.show_thinking:
            print(verdict.raw, file=sys.stderr)
        return 0
    reply = client.ask(args.prompt, images=args.image, video=args.video, json_object=args.json_object,
                       reasoning=args.reasoning)
    if args.show_thinking and reply.thinking:
        print(reply.thinking, file=sys.stderr)
    print(json.dumps(reply.data) if args.json_object else reply.answer)
    return 0
