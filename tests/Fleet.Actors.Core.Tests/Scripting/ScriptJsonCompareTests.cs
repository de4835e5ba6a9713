using Fleet.Actors.Core.Scripting;
using FsCheck;
using FsCheck.Fluent;

namespace Fleet.Actors.Core.Tests.Scripting;

public class ScriptJsonCompareTests
{
    [Fact]
    public void Same_bytes()
    {
        var count = 0;
        Prop.ForAll(ScriptJsonTests.Generators.Document.ToArbitrary(), document =>
        {
            count++;
            Assert.Equal(ScriptJsonOld.Write(document), ScriptJson.Write(document));
            Assert.Equal(ScriptJsonOld.Write(document, indented: true), ScriptJson.Write(document, indented: true));
            Assert.Equal(ScriptJsonOld.WriteScripts(document.Scripts), ScriptJson.WriteScripts(document.Scripts));
            foreach (var script in document.Scripts)
            {
                Assert.Equal(ScriptJsonOld.WriteUtf8(script), ScriptJson.WriteUtf8(script));
                Assert.Equal(ScriptJsonOld.Write(script, indented: true), ScriptJson.Write(script, indented: true));
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
        Assert.True(count >= 2000);
    }

    [Fact]
    public void Same_bytes_for_odd_text()
    {
        var script = TestScripts.Script("x<é>&\"'+\u0001😀", new PublishAction("t/é<>", "{\"a\":\"<b>\"}\n\t"), new RaiseAlertAction("a&b", ScriptAlertSeverity.Critical)) with
        {
            Name = "Pump \"main\" é \u2028",
            Priority = (ScriptPriority)77,
            Conditions = ValueArray.Of<ScriptCondition>(new CompareCondition("r", ComparisonOperator.GreaterOrEqual, new ConstantOperand(-1e-7)),
                new AnyCondition(ValueArray.Of<ScriptCondition>(new CompareCondition("a", ComparisonOperator.NotEqual, new ReadingOperand("b"))))),
        };
        Assert.Equal(ScriptJsonOld.Write(script), ScriptJson.Write(script));
        Assert.Equal(ScriptJsonOld.Write(script, true), ScriptJson.Write(script, true));
    }
}
