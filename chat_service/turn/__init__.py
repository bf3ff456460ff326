"""A turn: one user message and the assistant's reply to it (docs/architecture.md).

- `events.py`: what a caller asks for (`TurnRequest`) and what a turn yields (deltas, the final
  message, an error after streaming started);
- `lifecycle.py`: the turn's records in the store: started (or replayed) under the client's
  request id, leased while it runs, saved however it ends; the user's admission slot it holds;
- `answer.py`: answering a started turn, from the answer cache or the model, and the work it
  leaves behind;
- `streamed.py`: a turn the caller streams (Complete);
- `submitted.py`: a turn queued for any replica's worker and followed from the store
  (SubmitCompletion, GetTurn, StreamTurn);
- `side_work.py`: jobs to the queue, or in process when there is none;
- `outcome.py`: how a turn ended, reported once (log line, span, counter).
"""
