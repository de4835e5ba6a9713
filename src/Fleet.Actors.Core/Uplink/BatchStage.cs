using Akka.Streams;
using Akka.Streams.Stage;
using Fleet.Actors.Core.Wal;

namespace Fleet.Actors.Core.Uplink;

/// <summary>
/// Groups log entries into uplink batches bounded by records and bytes. A batch goes out when it is
/// full, or when downstream is ready and the linger time since its first entry has passed (at once
/// with zero linger): under light load every entry is sent immediately, under heavy load batches
/// grow while publishes are in flight. Entries are never split, dropped or reordered.
/// </summary>
internal sealed class BatchStage : GraphStage<FlowShape<StoredEntry, IReadOnlyList<StoredEntry>>>
{
    private readonly int _maxRecords;
    private readonly long _maxBytes;
    private readonly TimeSpan _linger;

    public BatchStage(int maxRecords, long maxBytes, TimeSpan linger)
    {
        _maxRecords = maxRecords;
        _maxBytes = maxBytes;
        _linger = linger;
        Shape = new FlowShape<StoredEntry, IReadOnlyList<StoredEntry>>(In, Out);
    }

    public Inlet<StoredEntry> In { get; } = new("batch.in");

    public Outlet<IReadOnlyList<StoredEntry>> Out { get; } = new("batch.out");

    public override FlowShape<StoredEntry, IReadOnlyList<StoredEntry>> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("uplink-batch");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Logic : TimerGraphStageLogic, IInHandler, IOutHandler
    {
        private const string LingerTimer = "linger";
        private readonly BatchStage _stage;
        private List<StoredEntry> _batch = new();
        private int _records;
        private long _bytes;
        private StoredEntry? _carry;
        private bool _lingerElapsed;

        public Logic(BatchStage stage) : base(stage.Shape)
        {
            _stage = stage;
            SetHandler(stage.In, this);
            SetHandler(stage.Out, this);
        }

        private bool Full => _records >= _stage._maxRecords || _bytes >= _stage._maxBytes;

        private bool Ready => _batch.Count > 0
            && (Full || _carry is not null || _lingerElapsed || _stage._linger <= TimeSpan.Zero || IsClosed(_stage.In));

        public override void PreStart() => Pull(_stage.In);

        public void OnPush()
        {
            var entry = Grab(_stage.In);
            if (_batch.Count > 0 && (_records + entry.Entry.Count > _stage._maxRecords || _bytes + entry.Entry.Bytes > _stage._maxBytes))
                _carry = entry;
            else
                Add(entry);
            TryEmit();
            PullIfRoom();
        }

        public void OnUpstreamFinish()
        {
            if (_batch.Count == 0 && _carry is null) CompleteStage();
            else TryEmit();
        }

        public void OnUpstreamFailure(Exception e) => FailStage(e);

        public void OnPull()
        {
            TryEmit();
            PullIfRoom();
        }

        public void OnDownstreamFinish(Exception cause) => CompleteStage();

        protected override void OnTimer(object timerKey)
        {
            _lingerElapsed = true;
            TryEmit();
        }

        private void Add(StoredEntry entry)
        {
            _batch.Add(entry);
            _records += entry.Entry.Count;
            _bytes += entry.Entry.Bytes;
            if (_batch.Count == 1 && _stage._linger > TimeSpan.Zero) ScheduleOnce(LingerTimer, _stage._linger);
        }

        private void TryEmit()
        {
            if (!Ready || !IsAvailable(_stage.Out)) return;
            var batch = _batch;
            _batch = new List<StoredEntry>();
            _records = 0;
            _bytes = 0;
            _lingerElapsed = false;
            CancelTimer(LingerTimer);
            Push(_stage.Out, batch);

            if (_carry is { } carried)
            {
                _carry = null;
                Add(carried);
            }
            if (IsClosed(_stage.In) && _batch.Count == 0) CompleteStage();
        }

        private void PullIfRoom()
        {
            if (_carry is null && !Full && !IsClosed(_stage.In) && !HasBeenPulled(_stage.In)) Pull(_stage.In);
        }
    }
}
