using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Stage;
using Fleet.Actors.Core.Wal;
using static Fleet.Actors.Core.Wal.WalProtocol;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Source of unsent log entries: pulls them from the write-ahead log actor with
/// <see cref="ReadEntries"/> only while downstream wants more, so backpressure from the broker
/// reaches the log and stops there (the log keeps accepting; it just holds more unsent data).
/// Starts from the oldest unsent entry; asks again if the log does not answer in time (the log
/// may have restarted and forgotten the request).
/// </summary>
internal sealed class LogSource : GraphStage<SourceShape<StoredEntry>>
{
    private readonly IActorRef _log;
    private readonly int _chunkBytes;
    private readonly TimeSpan _retryInterval;

    public LogSource(IActorRef log, int chunkBytes, TimeSpan retryInterval)
    {
        _log = log;
        _chunkBytes = chunkBytes;
        _retryInterval = retryInterval;
        Shape = new SourceShape<StoredEntry>(Out);
    }

    public Outlet<StoredEntry> Out { get; } = new("log-source.out");

    public override SourceShape<StoredEntry> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("log-source");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : TimerGraphStageLogic, IOutHandler
    {
        private const string RetryTimer = "retry";
        private readonly LogSource _stage;
        private readonly Queue<StoredEntry> _buffer = new();
        private long _bufferedBytes;
        private long _after = -1;
        private long _requestId;
        private bool _outstanding;
        private StageActor? _self;

        public Logic(LogSource stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage.Out, this);
        }

        public override void PreStart()
        {
            _self = GetStageActor(OnMessage);
            Request();
        }

        public void OnPull() => TryPush();

        public void OnDownstreamFinish(Exception cause) => CompleteStage();

        protected override void OnTimer(object timerKey)
        {
            if (!_outstanding) return;
            _outstanding = false;
            Request();
        }

        private void OnMessage((IActorRef Sender, object Message) received)
        {
            // Answers to requests we have given up on are ignored; the current request covers them.
            if (received.Message is not EntriesRead read || read.RequestId != _requestId || !_outstanding) return;
            _outstanding = false;
            CancelTimer(RetryTimer);
            foreach (var entry in read.Entries)
            {
                if (entry.JournalSeq <= _after) continue;
                _buffer.Enqueue(entry);
                _bufferedBytes += entry.Entry.Bytes;
                _after = entry.JournalSeq;
            }
            TryPush();
        }

        private void TryPush()
        {
            if (_buffer.Count > 0 && IsAvailable(_stage.Out))
            {
                var entry = _buffer.Dequeue();
                _bufferedBytes -= entry.Entry.Bytes;
                Push(_stage.Out, entry);
            }
            // Keep at most about one chunk buffered ahead of demand.
            if (!_outstanding && _bufferedBytes < _stage._chunkBytes) Request();
        }

        private void Request()
        {
            _requestId++;
            _outstanding = true;
            _stage._log.Tell(new ReadEntries(_requestId, _after, _stage._chunkBytes), _self!.Ref);
            ScheduleOnce(RetryTimer, _stage._retryInterval);
        }
    }
}
