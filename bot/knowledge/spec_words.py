"""Which spec a question asks about ("14 Pro 电池多大" → battery, "is the 14 ip68" → water resistance), from its words.

The keywords of each spec in both languages, as fans type them (nicknames, pinyin, homophone typos, spec words one letter
off); and the wordings that are never a spec question although they name one (a how-to, a fault, a part, an exchange,
or a figure products.yml does not hold: `bot.knowledge.unheld`). Rendering the answer from the data is
`bot.knowledge.specs`.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

from bot.knowledge.part_prices import asks_cost
from bot.knowledge.text import normalise
from bot.knowledge.unheld import UNHELD, unheld_spec
from bot.language import CJK_CHAR

__all__ = ["SPEC_KEYWORDS", "detect_spec", "names_spec", "unheld_spec", "excluded", "asks_part_price", "BOX_ITEMS", "BOX_ITEM_NAMES",
           "box_item_asked"]

SPEC_KEYWORDS: Dict[str, str] = {
    "battery": (r"battery|(?<![a-z])batt(?![a-z])|\bbat+[ae]r+(?:y|ies|ey)\b|\bjuice\b|"
                r"\bhow many (?:hours?|hrs?|days?) (?:of (?:music|playback|use|listening|battery|play)|on (?:a |one )?charge|"
                r"(?:does|will|would|can|could) (?:it|they|(?:the |my |ur |your |a )?[\w ]{1,20}?) (?:last|go|play))\b|"
                r"\bhow long (?:do|does|will|would|can|could)(?: \w+){1,5} (?:last|play|go|run)\b|mah|battery life|how long does it last|capacity|how many (?:\w+ ){0,3}(?:full )?(?:times|charges)\b|"
                r"续[航杭行]|电池|(?<![a-z])(?:xh|xuhang|dianchi)(?![a-z])|毫安|瓦时|(?<![a-z])wh(?![a-z])|电量|容量|能用多久|用多久|[能可]?用几天|撑几天|几天一充|一天一充|[充冲]满?几次|[充冲]满多少[次回遍]|几次电|"
                r"能(?:听|用|撑|玩|戴)(?:几个?小时|多久|多长时间)|撑(?:一|1)天|一天够|"
                # "手环能撑一周不", "能用两个星期吗", "一周一充": how many days or weeks on a charge
                r"(?:撑|(?:能|可以|能够|可)用|续航)\s?(?:[一二两三四五六七八九十1-9]|几|半)\s?(?:个)?(?:周|星期|礼拜|月)|[一1两2]周一充|"
                r"\blast (?:me )?(?:a |the )?(?:full |whole )?day\b|\b(?:will|would|does|do|can|could)(?: \w+){0,3} last (?:me )?"
                r"(?:a |the |one |two |\d+ )?(?:full |whole )?(?:week|weekend|month)s?\b|\blast all day\b|待机|standby|play ?time|endurance|"
                # "14的电撑得住一整天吗", "耳机电够听一路吗", "will the buds 5 last w the case"
                r"电(?:量)?(?:撑得住|撑不住|够不够|够[用听玩]|能撑)|\bwill (?:it|they|(?:the |my |ur |your )?[\w ]{1,20}?) last\b|"
                # a comparison of how long they last: "band vs buds which lasts longer", "which one outlasts the other"
                r"\blasts? (?:a bit |much |way )?longer\b|\boutlasts?\b"),
    "weight": (r"\bheav(?:y|ier|iest)?\b(?!\s+(?:user|use|usage|gam\w+))|\bweigh\w*|(?<!\blow )(?<!\bdim )(?<!\bbad )(?<!\bpoor )\blight(?:er|est)?\b(?!\s+(?:up|on|sleep|condition\w*|leak\w*)\b|\s*/)|\bgrams?\b|多重|重量|几克|多少克|(?<![\d.])(?!(?:16|32|64|128|256|512)\s?g)(?:\d{2,3}|\d{1,3}\.\d)\s?(?:g|克)(?![a-z])|重不重|有多重|"
               r"[好太很挺]重(?!要|新|启|复|装|置|视|点)|重[吗么吧嘛](?!啡)|沉不沉|多沉|(?<![严])[重轻](?:了)?(?:多少|几克|几两)|[好太很挺]沉|沉[吗么吧]|轻不轻|轻[吗么吧]|"
               # "14和14pro哪个轻", "拿着压手吗": which is lighter, how it feels in the hand
               r"哪(?:个|款|一个|一款)(?:更|比较)?[轻重沉]|(?<!血)压手|坠手|手感重|(?:几|多少)[斤两]|[斤两]重|最轻|\blightest\b"),
    # "小屏14的续航": a name, not the question; resolution (not the camera's) and refresh rate are in the screen's detail
    "screen": (r"screen|display|inch|(?<!cam )(?<!camera )(?<!photo )(?<!video )resolution|refresh(?! my| the page| the app| the site| the store|ing)|(?<![a-z])(?:hz|(?:am)?oled|ltpo|lcd)(?![a-z])|"
               r"彩屏|表盘(?:多大|尺寸|几寸)|colou?r (?:screen|display)|屏幕|平幕|(?<![小大])屏|英寸|寸|分辨率|刷新率|(?<![a-z])pingmu(?![a-z])"),
    "water_resistance": (r"waterproof|water[- ]?resistant|water resistance|water|ip\s?[56x]\d|(?<![a-z])ip\s?(?:rating|rated|code|等级)|\d\s?atm|(?:how many|多少|几个?)\s?atm\b|swim\w*|pool|\brain\b|"
                         r"shower|bath|div(?:e|ing)|snorkel\w*|\bsea\b|ocean|sauna|sweat\w*|\bdust\w*|\bget wet\b|防水|防尘|防[^，。？?！!\s]{1,4}水|多深|下水(?!道)|[沾碰遇]水|雨里|雨中|下雨|防汗|出汗|流汗|汗水|游泳|泳池|进水|"
                         r"淋雨|淋(?:了|到|着)?(?:点|些|一点|一场)?(?:小|大)?雨|一身汗|被汗|汗泡|掉(?:进|到)?(?:水|马桶|厕所|水池|水槽|鱼缸)|\bsink\b|toilet|puddle|\bspill\w*|泡水|洗澡|泡澡|浴缸|hot ?tubs?|jacuzzi|\b(?:handle|survive|take|bring|use|wear|at|to)\b(?: \w+){0,3}? (?:the )?beach\b|洗(?:碗|手|菜|脸|车)|刷碗|潜水|海水|海边|下海|桑拿|温泉|进汗|汗[巨很特超]?多"),
    "colours": (r"colou?rs?\b(?!\s?(?:screen|display))|colou?rways?|\bshades?\b|\bfinishes\b|(?<![a-z])yanse(?![a-z])|颜色|言色|配色|什么色|啥色|几种色|几个色|几色|[白黑粉绿蓝灰紫红金银]色(?:的|款|版)?|"
                # "手环有粉的吗", "耳机除了白的还有啥": a colour by its first character
                r"(?:有没有|有|出|要|除了)[白黑粉绿蓝灰紫红金银]的|"
                # "pro有土豪金吗", "出不出玫瑰金的": a named colour asked for
                r"(?:有没有|有|出不出|出|要)(?![点些])[\u4e00-\u9fff]{1,2}[金银黑白蓝绿粉紫红灰](?:的|色|款|版)?(?:吗|么|嘛|没|不|呢)|"
                r"\b(?:in|the|an?|any) (?:black|white|pink|green|blue|gr[ae]y|purple|red|gold|silver)\b(?! friday)|"
                # "band 9 pink avail?": a colour and whether it is there
                r"\b(?:black|white|pink|green|blue|gr[ae]y|purple|red|gold|silver) (?:avail\w*|in stock|option|version)\b"),
    "charging": (r"charging (?:speed|time|power)|fast[- ]charg\w*|quick[- ]charg\w*|wireless\w*|watt(?:s|age)?|\d+\s?w\b|\bhow long (?:to|does it take to|will it take to) (?:fully )?(?:charge|recharge|fill\w* up)\b|"
                 r"how (?:fast|quick\w*|long) (?:\w+ ){0,5}(?:re)?charg\w*|\bhow long (?:till|until|before) (?:it'?s |its |it is |they'?re )?(?:full|charged)\b|\btakes? (?:\w+ )?to (?:fully )?(?:charge|recharge|(?:re)?fill\w* (?:itself |it |them )?(?:up|from empty))\b|\bfrom empty to (?:full|100)|\btime to (?:fully )?(?:charge|recharge)\b|charg\w* (?:fast|quick\w*)|0\s*(?:to|-|–)\s*100|"
                 r"快充|无线[充冲]|(?:没电|空电|零|0%?)\s?(?:充)?到\s?满|满电(?:要|需要|得)?\s?(?:多久|多长时间|几分钟|多少分钟)|多久才?[能会]?[充冲]?满|[充冲]到(?:满|100|百分百|头)|[充冲]电要?插多久|[充冲](?:一次|电)?满(?!\s?(?:几|多少)[次回遍])|回电|(?:[充冲]电|charg\w*)\s*(?:要|需要|得)?\s*(?:速度|功率|多久|多长时间|几分钟|多少分钟|多快|快|时间)|瓦(?!时)|"
                 r"功率|(?:多少|几)\s?w(?![a-z])|磁吸|\bqi\b|\bwhat (?:charger|usb|port|cable)\b|充电(?:口|接口)|(?:什么|啥|哪种)(?:充电器|充电头|充电线)|\boutput\b|输出|\b(?:0|zero) to full\b|how many min(?:ute)?s\b"),
    "price": (r"price|cost|how much (?:is|are|r|does|do|did|would|will|for|money|to buy|the|a|an|u|ya|it|this|that)\b|how much\W*$|expensive|cheap|"
              # the difference in price: "how much more is the pro than the 14", "14 pro 512 多少rmb"
              r"\bhow much (?:more|extra|less|cheaper|dearer|pricier)\b|多少\s?(?:rmb|money|软妹币|大洋)|"
              # "how much 14pro 512g": the product straight after "how much"
              r"\bhow much (?=(?:the |ur |your )?(?:millet )?(?:\d{1,2}\s?pro|\d{1,2}\b|pro\b|band|buds|earbuds|power ?bank)"
              r"(?![\w ]{0,8}\b(?:storage|battery|space|memory|ram|screen|charge|weigh\w*)\b))|"
              r"\bmsrp\b|\brrp\b|\bretail\b|\b(?:what|how much)\W*(?:'s|s|is|are|does|do)?\s(?:\w+\s){0,4}go(?:es|ing)? for\b|"
              r"到手价|到手多少|官网价|官方售价|哪(?:个|款|一个|一款)(?:更|比较)?便宜|贵多少|首发价|发布价|上市价|发售价|官方价|官价|定价|\blaunch(?:ed)? (?:price|at|for)\b|\bat launch\b|多少[钱前]|几多钱|几钱|(?<![好很太么])多钱|多少\s?[💰💵💴]|(?<![a-z])jiage(?![a-z])|价格|售价|贵|最便宜|价钱|几块|啥价|什么价|多少米|卖多少|卖几[千百]|几[千百]块|(?<![a-z])jg(?![a-z])"),
    "release_date": (r"release|launch|come out|came out|available since|\bwhen did (?:\w+ ){1,4}drop\b|发布|上市|发售|开售|开卖|首发|"
                     # "啥时候出的", "哪年出的": when it came out, not when it ships ("什么时候出货")
                     r"(?:什么|啥|哪|几)(?:时候?|年份?|天|月份?|号)出(?!货|库|单|来|去|门|差|现|问题)|出(?:来|了)多久|上市多久|"
                     r"(?:什么|啥|哪|几)(?:时候|年|天|月|号)上(?:的|市)|(?:今年|去年|前年|这个月|上个月)才?(?:出|发布|上市)的?|"
                     r"\bwhen(?:'?s| is| was| did)? (?!i |you |u |we )(?:\w+ ){1,4}out\b(?! of)|"
                     r"(?<!\d)20[12]\d\s?(?:年款|款|phone|model)|"
                     r"最新款|新出的|新款吗|\bhow new\b|\b(?:the )?(?:latest|newest) (?:model|version|one)\b|\bannounce[ds]?\b|\bhow old is\b|\bbeen out\b"),
    "storage": (r"storage|\bgigs?\b|gigabytes?|(?<![a-z])gb(?![a-z])|\btb\b|(?<![\d.])(?:16|32|64|128|256|512|1024)\s?gb?(?![a-z])|\d{2,4}\s?gb(?![a-z])|\d\s?tb?(?![a-z])|memory|"
                r"how much (?:space|room)\b|存储|内存|空间多大|(?:多少|几个?|多大)\s?(?:g|gb|t|tb)(?![a-z])|"
                r"(?<![\d.])(?:128|256|512)(?![\d.]|\s?(?:mah|w\b|元|块|毫安|瓦))"),
    # "14pro啥u", "天玑还是骁龙": the chip by slang or by a chip family's name
    "chip": (r"chip|processor|cpu|soc|performance|snapdragon|dimensity|芯片|处理器|性能|天玑|骁龙|麒麟|"
             r"(?:啥|什么)\s?u(?![a-z])"),
}
# How-to and troubleshooting questions belong to the FAQ even when they name a spec.
# The warranty named ("warranty on the battery?", "what warranty comes with it"): never a figure, nor what is in the box
_WARRANTY_WORDS = r"\bwarrant(?:y|ies)\b|\bguarantee\w*|保修|质保"
_HOWTO = re.compile(r"\bhow (?:do|to|can|should|could)\b|\bwhy\b|\btips?\b|\bstuck\b|(?<!\bi )\bdrain|\bfix\b|"
                    r"\bbroken\b|\b(?:screen|display|glass) (?:just |got )?broke\b|\bnot working\b|\bcrack\w*|\bshatter\w*|\bsmash\w*|"
                    r"\brepair\w*|\breplac\w*|\blost\b|\bspare\b|\bstraps?\b|"  # a part or a repair, not the product
                    r"\bphone cases?\b|\bscreen protect(?:ors?|ion)\b|\b(?:tempered|official) glass\b|\bwith (?:a |an )?card\b|手机壳|保护壳|保护套|贴膜|钢化膜|"  # an accessory
                    r"\b(?:memory|sd|micro ?sd|tf) cards?\b|存储卡|内存卡|(?:sd|tf)卡|\badd (?:extra |more )?storage\b|\bexpand\w* (?:the )?storage\b|扩容|"  # a card slot: the FAQ's
                    # a price to be lowered or matched ("京东才卖4699 能便宜点吗", "can u match that price"): no figure answers it
                    r"(?:能|可以|再)便宜(?:点|些|一点)(?:吗|不|嘛|么|呗)?|\bprice[- ]?match\w*|\bmatch (?:that|the|their|this|jd'?s?|amazon'?s?) price\b|"
                    r"\bcan (?:u|you) (?:do|go) (?:¥|rmb ?)?\d{3,}|(?:京东|淘宝|拼多多|天猫|jd|taobao|pdd|amazon)[^，。？?！!]{0,12}(?:才卖|只要|只卖|便宜|cheaper)|"
                    r"投屏|屏幕镜像|[熄息]屏(?![^，。？?！!]{0,6}(?:撑|续航|用几天|用多久|几天))|分屏|截屏|录屏|\bmirror(?:ing)?\b|\bcast(?:ing)?\b|\bscreen ?(?:shots?|record\w*|mirror\w*)|\bsplit[- ]?screen\b|"
                    r"(?<![薄])膜|省(?:点|些|一点)?电|"
                    r"怎么(?!样)|如何|为什么|咋(?!样)|办法|技巧|怎样(?!\W*$|[吗啊呀呢])|坏了|不了|送(?![她他给人礼女男老爸妈朋同长孩儿])|盒里|发烫|烫|掉电|(?:耗|费)电(?:也)?(?:太|好|很|特别|超|贼|有点|比较)?(?:快|厉害|严重|多|猛)|plane|飞机|航空公司|\bairlines?\b|"
                    r"\b(?:what|which) settings?\b|"
                    # whether it may be carried, not a figure: "充电宝20000毫安能带上高铁吗", "is the 20000mah ok in carry on"
                    # (a trip as the context of how long it lasts stays the battery: "坐高铁六个钟 耳机电够听一路吗")
                    r"(?:带|拿|上|进|过)得?上?(?:高铁|火车|动车|地铁)|托运|安检|登机|\bcarry[- ]?on\b|\bchecked (?:bag|luggage)\b|"
                    r"\b(?:bring|take|carry|allowed|ok|okay|fine)\b[\w ]{0,30}?\b(?:on|onto|through)\b (?:a |the |my )?"
                    r"(?:trains?|subway|flights?|airport security|security)\b|"
                    # a mark on it ("中框磕掉漆了 能补漆吗 多少钱"): the repair's cost, not the price
                    r"掉漆|补漆|磕|划痕|划伤|\bscratched\b|\bdented\b|\bchipped\b|"
                    r"修|裂|碎|摔|丢|单独买|(?:单只|一只)(?!\w{0,3}(?:几克|多重|重量|多少克|克))|表带|换屏|换电池|单买|"
                    r"\b(?:new|spare) (?:\w+ ){0,2}(?:screen|display|battery|case|charging case|cable)\b|"
                    # "送不送充电器" is what comes in the box; "想送她14" is a gift, the question still a figure
                    # another device or a price to come: the FAQ's ("power bank enough for my laptop", "会降价吗")
                    r"\blaptops?\b|\bnotebook\b|\bmacbook\b|\bchromebook\b|轻薄本|游戏本|\bthinkpad\b|\bdell\b|\bxps\b|\bsurface (?:pro|laptop|go)\b|笔记本|\bprice (?:cut|drop)s?\b|\bget cheaper\b|降价|"
                    # a price that fell after buying: price protection, not the price ("got cheaper right after i bought it")
                    r"\b(?:got|gets|getting|became) (?:\w+ ){0,2}cheaper\b|\bcheaper than (?:when|what) i\b|"
                    r"\b(?:dropped|drops|fell|went down|was cut|got cut|cut) (?:\w+ ){0,2}(?:in price|price)\b|"
                    r"\bprice (?:dropped|fell|went down|was cut|got cut)\b|便宜了|掉价|跌价|"
                    # a system update's size or download, not the storage: "how many gb is the update for the 14"
                    r"\bupdat(?:e|es|ing)\b|\bota\b|\b(?:security |monthly )?patch(?:es)?\b|升级包|更新包|(?:系统|固件)(?:更新|升级)|"
                    r"(?:更新|升级)(?:系统|固件)|升个级|"
                    # a fault, not a figure: "my 14 pro screen flickers after the update", "屏幕闪屏"
                    r"\bflicker\w*|"
                    # an indicator light, not lightness: "the light on the buds case keeps blinking red"
                    r"\b(?:led|indicator|status|notification|charging|red|green|orange|flashing|blinking) lights?\b|"
                    r"\blights? (?:is|are|keeps?|won'?t|turn\w*|stays?)\b|\b(?:won'?t|wont|doesn'?t|does not|not|never|no longer) "
                    r"(?:light|turn|switch|power) (?:up|on)\b|\bblink\w*|\bflashing\b|\blight (?:mode|sensor|theme)\b|\b(?:gets?|getting|got|runs?|running|too|very|so) (?:really |super |very )?(?:hot|warm)\b|"
                    r"\boverheat\w*|\bglitch\w*|\bdead pixels?\b|\bdefect\w*|闪屏|闪烁|花屏|烧屏|残影|\bburn-?in\b|失灵|故障|毛病|亮点|坏点|漏光|"
                    # an exchange, a return or the warranty, not a figure: "屏幕有亮点 能换新的么", "想换个颜色", "warranty on the battery?"
                    r"换新|换货|换个新|换(?:个|成|一个)?(?:别的|其他|[白黑粉绿蓝灰紫红金银])?(?:颜色|色)|退换|以旧换新|折价|换购|抵扣|折多少|能折(?!叠)|能抵|抵多少|\bwhat would (?:you|u) give me\b|\bhow much (?:for|is|can i get for|would (?:i|you|u) (?:get|give me) for) my old\b|\bmy old \w+ (?:is )?worth\b|旧机|\btrad(?:e|es|ing)[- ]?ins?\b|" + _WARRANTY_WORDS + r"|\bcovered\b|保内|过保|"
                    # a return: "can i return the 14 pro if i peeled the screen film off", "手环颜色不喜欢 想退货"
                    r"\breturn(?:s|ed|ing|able)?\b|\brefund\w*|\bsend (?:it|them) back\b|退货|退款|退钱|能退|可以退|退吗|退不|退得|"
                    # an exchange or a flaw: "unboxed it and there's a scuff on the display, swap?"
                    r"\bswap(?:s|ped|ping)?\b(?! (?:the |a |my )?(?:batter|screen|display|case|back))|\bexchang\w*|\bscuff\w*|\bscratch\w*|\bdent(?:s|ed)?\b|划痕|磕|"
                    r"无理由|"
                    # how the battery ages, not its figure: "用几年电池会不会不行", "will the battery degrade"
                    r"\bdegrad\w*|battery health|寿命|损耗|老化|衰减|会不会不行|伤电池|伤不伤电池|对电池(?:有)?(?:伤害|影响|不好)|"
                    r"\b(?:hurt|damage|harm|kill|ruin)\w* (?:the |my )?batter(?:y|ies)\b|bad for (?:the |my )?battery|"
                    # a restock alert, colours to come, a price drop: not a figure ("天青蓝的pro一有货就提醒我")
                    r"补货|提醒我|通知我|叫我一声|\bnotify\b|\brestock\w*|\bback in stock\b|\bnext batch\b|下一批|\bsold out\b|售罄|卖完|断货|缺货|没货|"
                    r"新颜色|新配色|新色|\bnew colou?rs?\b|便宜了|降了|会(?:不会)?降|降不降|\bwill (?:it|the price|prices?) (?:drop|go down|get cheaper)\b|\bprice drops?\b|\d+\s?(?:bucks|yuan|rmb|元|块)?\s?cheaper\b|"
                    r"\b(?:now|already) (?:\w+ ){0,2}cheaper\b|"
                    # "两个主要差在哪", "whats really different": the whole comparison, not one figure
                    r"区别|差别|差在哪|贵在哪|强在哪|好在哪|差异|有啥不同|有什么不同|(?:到底|该|应该)?(?:选|买)(?:哪个|哪款|哪一个|哪一款)|推荐哪(?:个|款)|哪(?:个|款)更(?:合适|适合)|\bdecid\w* between\b|\bwhich (?:one )?should i (?:get|buy|pick|choose)\b|(?<!price )\bdifferen(?:t|ce)\b|\bworth (?:it|the (?:extra|upgrade|difference))\b|\bjustif\w*|\bprice (?:bump|jump|gap)\b",
                    re.IGNORECASE)
# The price of a part or a repair ("14换个屏幕要多少钱", "14pro屏幕多少钱", "how much is the buds 5 case on its own"):
# the FAQ's, never the product's price nor the part's own figure (`asks_part_price`, also in bot.knowledge.facts).
_PART_PRICE = re.compile(r"换(?:个|块|一个|一块|新的?)?(?:屏|电池|后盖|充电盒|盒子)|"
                         r"(?:屏幕|外屏|内屏|电池|后盖|充电盒|充电仓|盒子|充电器|充电头)\s?(?:要|得|大概|一般)?\s?"
                         r"(?:多少钱|多钱|几多钱|啥价|什么价)|\bhow much (?:is|are|does|would|for) (?:a |an |the )?(?:[\w-]+ ){0,3}"
                         r"(?:screen|display|battery|charger|case)(?: cost| on its own| alone| by itself)?\W*$", re.IGNORECASE)
# A service done to a part, asked with a cost word anywhere ("how much to swap the battery on my 14 pro", "what's the cost
# of a new battery for the buds", "battery replacement price?", "手环屏幕坏了换一个多少钱"): the part's price too.
_PART = r"(?:batter(?:y|ies)|screens?|displays?|back (?:glass|cover|panel)|charging case|charger)"
_SERVICE_ON_PART = re.compile(rf"\b(?:swap\w*|replac\w*|new|fix\w*|repair\w*|chang\w*)\s+(?:[\w']+\s+){{0,3}}?{_PART}\b|"
                              # "battery on my 14 is worn out, how much for a new one"
                              rf"\b{_PART}\b[^.?!]{{0,60}}\b(?:a |the )?(?:new|replacement|fresh) one\b|"
                              rf"\b{_PART}\s+(?:swap|replac|repair|fix|chang)\w*|"
                              r"(?:换|更换|维修|修)[^，。？?！!\s]{0,8}?(?:屏幕?|电池|后盖|充电盒|充电仓)|"
                              r"(?:屏幕?|电池|后盖|充电盒|充电仓)[^，。？?！!\s]{0,6}?(?:换|更换|维修|修)", re.IGNORECASE)
_PATTERNS = {key: re.compile(rf"(?:{pat})", re.IGNORECASE) for key, pat in SPEC_KEYWORDS.items()}
# "手环咋充电的 要专门的线吗", "how do i charge the buds": how it charges is the charging figure's sentence (the
# cable, the pad, the time), unless charging fails ("充不进电", "why won't it charge").
_HOW_CHARGED = re.compile(r"(?:怎么|咋|如何|怎样)(?:给它|给\w{1,4})?充电|\bhow (?:do|to|can|should) (?:i |you |we )?"
                          r"(?:re)?charge\b", re.IGNORECASE)
_CHARGING_FAULT = re.compile(r"充不|不充|不进电|充不进|not charg\w*|won'?t charge|doesn'?t charge|stopped charg\w*|"
                             r"\bslow\w*|慢|坏|发烫|烫", re.IGNORECASE)

# Spec words typed one letter off ("wieght", "scrren", "batery", "relese"): read as the word they miss.
_SPEC_WORDS = ("battery", "weight", "weigh", "heavy", "screen", "display", "waterproof", "water", "colours", "colors",
               "colour", "color",
               "release", "released", "storage", "charging", "charge", "price", "processor", "resolution", "capacity",
               "wireless")
_LATIN_WORD = re.compile(r"[a-z]{5,}")


def _one_off(typed: str, word: str) -> bool:
    """`typed` is `word` with two neighbouring letters swapped, one letter missing or one letter too many inside it (the
    first letter right: "eight" is not "weight")."""
    if typed[0] != word[0] or typed == word:
        return False
    if len(typed) == len(word):
        diff = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and typed[diff[0]] == word[diff[1]] \
            and typed[diff[1]] == word[diff[0]]
    short, long_ = (typed, word) if len(typed) < len(word) else (word, typed)
    # a letter after the whole word is a suffix ("charges", "prices"), not a typo
    last = len(long_) - (1 if len(typed) > len(word) else 0)
    return len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(last))


_RUN = re.compile(r"(.)\1+")


def _misspelt(typed: str, word: str) -> bool:
    """`typed` is a long spec word typed with its letters doubled or undoubled ("proccesor", "wireles") or two pairs
    of neighbours swapped or one letter moved two places ("realese"): the same letters, never another word ("changing"
    is not "charging")."""
    if len(word) < 7 or typed[0] != word[0]:
        return False
    if _RUN.sub(r"\1", typed) == _RUN.sub(r"\1", word):
        return True
    diff = [i for i, (a, b) in enumerate(zip(typed, word, strict=False)) if a != b]
    return len(typed) == len(word) and sorted(typed) == sorted(word) and 0 < len(diff) <= 4 and (
        diff[-1] - diff[0] <= 2 or all(typed[i] == word[i + 1] or typed[i] == word[i - 1] for i in diff))


def _spell_spec_words(text: str) -> str:
    """`text` with every Latin word one letter off a spec word (or a long one misspelt: `_misspelt`) replaced by it."""
    def fix(match: "re.Match[str]") -> str:
        typed = match.group(0)
        if typed in _SPEC_WORDS:
            return typed
        return next((w for w in _SPEC_WORDS if _one_off(typed, w) or _misspelt(typed, w)), typed)

    return _LATIN_WORD.sub(fix, text)


# "screen on time", "how long will the band go between charges", "充一次能用几天": how long it lasts, whatever else
# the question names (the screen, charging).
_LASTS = re.compile(r"screen[- ]on[- ]time|\bsot\b|亮屏时间|between charges|\b(?:on|per|with) (?:a |one |each )?(?:single |full )?"
                    r"charge\b|"
                    r"[充冲]一次(?:电)?(?:能|可以)?[用撑玩听看戴]|[充冲]满(?:电)?(?:能|可以)[用撑玩听看戴]|一次[充冲]电(?:能|可以)[用撑玩听看戴]|"
                    r"(?:多久|多长时间|几天)(?:要|得|需要)?充一次|能给[^，。？?！!]{0,6}?[充冲]满?(?:几|多少)[次回遍]|"
                    # "一次充满 手环续航几天", "充满一次电 耳机能听几个小时": how long a full charge lasts
                    r"(?:[充冲]满|一次[充冲]满|[充冲]一次)(?:一次)?电?[^，。？?！!]{0,8}?(?:续[航杭行]|能(?:连着|一直|连续)?(?:听|用|撑|玩|戴)(?:几|多久|多长))", re.IGNORECASE)
# "how big is the 14", "14 pro size": with no other spec word, the size asked about is the screen's.
_SIZE = re.compile(r"\bhow big\b|(?<![a-z])size(?![a-z])|尺寸|大不大|小不小|(?<=[0-9a-z])\s?多大(?=\s|$|[啊呀呢吗哦？?，,!！。])|"
                   r"\bis (?:it|the [\w ]{1,15}?) (?:a |too )?(?:small|big|compact|large|huge|tiny)\b(?! (?:sensor|lens|camera|battery))", re.IGNORECASE)


# A variant or a setting named beside the spec asked ("黑色的14多少钱", "when did the 1tb 14 pro come out", "14pro开120hz
# 能用多久", "battery life with always on display"): a colour, a storage size, a screen mode. When another spec word is
# left once these are taken out, that spec is the one asked; alone they are the question ("14pro有1T的吗").
_QUALIFIER = re.compile(r"[白黑粉绿蓝灰紫红金银]色(?:的|款|版)?|\b(?:in|the|an?|my) (?:black|white|pink|green|blue|gr[ae]y|"
                        r"purple|red|gold|silver)\b|(?<![\d.])\d{1,4}\s?(?:gb?|tb?)(?![a-z])(?:的|版本?|款)?|"
                        r"(?<![\d.])(?:128|256|512)(?![\d.])(?:的|版本?|款)?|\d+\s?hz(?![a-z])|高刷|息屏(?:显示)?|常亮|"
                        r"\balways[- ]on(?: display| screen)?\b|\baod\b", re.IGNORECASE)

# "14 pro 都 有 啥 颜 色 呀": four or more Chinese characters typed one by one with spaces read as one word ("血压 手环"
# keeps its space: two words, not "压手").
_SPACED_OUT = re.compile(rf"(?<!\S){CJK_CHAR.pattern}(?:\s{CJK_CHAR.pattern}){{3,}}(?!\S)")


def asks_part_price(question: str) -> bool:
    """The question asks what a part or a repair costs ("14pro屏幕多少钱"), not a figure of the product."""
    text = normalise(question)
    return bool(_PART_PRICE.search(text) or (_SERVICE_ON_PART.search(text) and asks_cost(text)))


def excluded(text: str) -> bool:
    """A how-to, a fault, a part, or a figure the data does not hold: never a spec answer."""
    return bool(_HOWTO.search(text) or asks_part_price(text) or UNHELD.search(text))


# Whether it is in stock now ("14pro 512g 还有货没", "is the band 9 in stock", "buds 5 sold out?"): the live stock, never the
# storage or colour the question names on the way. Not when it will be back or a request to be told ("啥时候补货",
# "有货了通知我", "ping me when it restocks"): the FAQ's `stock_availability` and the restock form answer those.
_STOCK = re.compile(r"有(?:没有|木有|没|无)?现?货|现货|缺货|没货|断货|无货|卖(?:完|光|断)了?|售罄|库存|"
                    r"\bin[- ]stock\b|\bout of stock\b|\bsold out\b|\bany stock\b|\bstock (?:left|status|levels?)\b", re.IGNORECASE)
_NOT_NOW = re.compile(r"啥时候|什么时候|啥时|何时|几时|多久|哪天|几号|周几|补|通知|提醒|告诉我|叫我|一有货|有货就|有货再|"
                      r"怎么办|咋办|为什么|为啥|\bwhen\b|\bhow long\b|\bhow soon\b|\bnext\b|restock|notify|let me know|"
                      r"\bping\b|\bmsg\b|\bmessage me\b|\btext me\b|\btell me\b|\balert\b|\bsubscribe\b|\bwhy\b|"
                      r"\bback in stock\b", re.IGNORECASE)
# "is the buds 5 available?": in stock, when nothing else is asked ("available in pink?" asks the colour, "1tb version
# available?" the storage)
_AVAILABLE = re.compile(r"\bavailable\b(?!\s+(?:in|with|as|for|on)\b)|\bcan i (?:still )?(?:buy|get|order) (?:it|one|them|"
                        r"the [\w ]{1,25}?) (?:now|right now|rn|today)\b|(?:现在|还)能买(?:到)?吗|买得到吗", re.IGNORECASE)

_WHICH = re.compile(r"\b(?:which|what)\b|哪些|哪几|什么", re.IGNORECASE)

# What comes in the box ("充电宝自带线吗", "送充电器吗", "包装里有什么", "does the band come with a charger"): the product's
# `in_box` data. A missing item is a complaint ("拆开没看到数据线", "no cable in the box??"): the FAQ's.
_BOX_NOUN = r"(?:充电盒|充电仓|充电器|充电头|冲电头|插头|充电线|数据线|线|保护壳|手机壳|壳子|壳|保护膜|膜|表带|腕带|取卡针|耳塞|耳帽)"
_IN_BOX = re.compile(rf"(?:附赠|赠送|赠|送|带|配|附|给|有)(?:不送|不带|不配|没有?|木有|不)?(?:个|根|条|只|的|了|有)?{_BOX_NOUN}"
                     r"(?=\s*(?:$|[吗嘛么不没啊呀呢吧？?，,。!！~]))|自带[^，。？?！!\s]{0,3}(?:线|充电器|充电头|壳|膜)|"
                     r"包装(?:盒)?里|(?:盒子?|箱子?)里(?:有|都有|都是|面有|带|是)|标配|附件|配件(?:有|都有|是|包括)|"
                     r"\bcomes? (?:with|w/?)(?!\w)|\bin (?:the|its|my|a) (?:[\w-]+ ){0,3}box\b|\bincluded\b|\binclude[sd]?\b|\bship(?:s|ped)? with\b|"
                     r"\bbox contents\b|\bwhat'?s in (?:the|its|my) box\b|\bunbox", re.IGNORECASE)
_BOX_MISSING = re.compile(r"没看到|没找到|找不到|漏发|少了|少发|缺了|没收到|\bno (?:\w+ )?(?:cable|charger|case)\b|"
                          r"\bmissing\b|\bforgot\b|\bwhere(?:'s| is)\b|拆开|\bjust unboxed\b", re.IGNORECASE)
# The items a fan asks about, by kind; an `in_box` item is of a kind when its English name matches the kind's words.
BOX_ITEMS: Dict[str, Tuple[str, str]] = {
    "charger": (r"charger|brick|adapter|plug|充电器|充电头|冲电头|插头|快充头", r"charger|adapter"),
    "cable": (r"(?:charg\w* )?(?:cable|cord|wire)|(?<![有无])线", r"cable"),
    "charging_case": (r"charging case|充电盒|充电仓", r"charging case"),
    "case": (r"\bcase\b|cover|壳|保护套", r"(?<!charging )\bcase\b"),  # the buds' charging case is no cover
    "protector": (r"screen protector|film|保护膜|贴膜|膜", r"protector|film"),
    "strap": (r"strap|wristband|表带|腕带", r"strap"),
    "sim_tool": (r"sim (?:tool|pin|ejector)|取卡针|卡针", r"sim tool"),
    "tips": (r"ear ?tips|耳塞|耳帽", r"tips"),
}


# What each kind is called in an answer ("有没有充电头我这里没有确切的信息").
BOX_ITEM_NAMES: Dict[str, Dict[str, str]] = {
    "charger": {"en": "a charger", "zh": "充电头"}, "cable": {"en": "a cable", "zh": "数据线"},
    "charging_case": {"en": "a charging case", "zh": "充电盒"}, "case": {"en": "a case", "zh": "保护壳"},
    "protector": {"en": "a screen protector", "zh": "贴膜"}, "strap": {"en": "a spare strap", "zh": "备用表带"},
    "sim_tool": {"en": "a SIM tool", "zh": "取卡针"}, "tips": {"en": "spare ear tips", "zh": "备用耳塞"},
}


def box_item_asked(question: str) -> Optional[str]:
    """The kind of item a what's-in-the-box question asks about ("送充电器吗" → "charger"), or None (the whole box)."""
    text = normalise(question)
    found = [(m.start(), m.start() - m.end(), key) for key, (asked, _) in BOX_ITEMS.items()
             for m in [re.search(asked, text, re.IGNORECASE)] if m]
    return min(found)[2] if found else None  # the first named, the longest there ("charger cable" is a cable)


def _asks_stock(text: str) -> bool:
    if _NOT_NOW.search(text):
        return False
    if _STOCK.search(text):
        return True
    # "which phones r available": what there is, the range; another spec word asks that spec
    return (not _QUALIFIER.search(text) and not _WHICH.search(text) and bool(_AVAILABLE.search(text))
            and not any(pat.search(text) for pat in _PATTERNS.values()))


_WARRANTY = re.compile(_WARRANTY_WORDS + r"|保固|售后|after[- ]?sales?|\bsupport\b", re.IGNORECASE)  # "what support comes with it"
# A flaw, a return or an exchange named beside the box ("unboxed my band today, scuff on the display, swap?"): the FAQ's.
_FLAW = re.compile(r"\bswap\w*|\bexchang\w*|\breturn\w*|\brefund\w*|\bscuff\w*|\bscratch\w*|\bdent(?:s|ed)?\b|\bdefect\w*|"
                   r"\bbroken\b|\bcrack\w*|换新|换货|退货|退款|退换|划痕|磕|裂|坏", re.IGNORECASE)


def detect_spec(question: str) -> Optional[str]:
    """The spec a question asks about, or None (no keyword, or a how-to question); "stock" for whether it is in stock
    now, "in_box" for what comes in the box."""
    text = _spell_spec_words(_SPACED_OUT.sub(lambda m: m.group(0).replace(" ", ""), normalise(question)))
    if _asks_stock(text):
        return "stock"
    if _IN_BOX.search(text) and not _BOX_MISSING.search(text) and not _WARRANTY.search(text) and not _FLAW.search(text):
        return "in_box"
    if _HOW_CHARGED.search(text) and not _CHARGING_FAULT.search(text):
        return "charging"
    if excluded(text):
        return None
    if _LASTS.search(text):
        return "battery"
    hits = [key for key, pat in _PATTERNS.items() if pat.search(text)]
    if not hits:
        return "screen" if _SIZE.search(text) else None
    if len(hits) > 1:  # "黑色的14多少钱": the colour says which one, the price is asked
        asked = [key for key in hits if _PATTERNS[key].search(_QUALIFIER.sub(" ", text))]
        hits = asked or hits
    # "wireless charging battery" → charging; price beats release when both appear.
    for preferred in ("charging", "water_resistance", "colours", "weight", "price", "storage", "screen", "battery"):
        if preferred in hits:
            return preferred
    return hits[0]


def names_spec(question: str, key: str) -> bool:
    """Whether `question` has a keyword of spec `key` ("how much storage does the base 14 come with" names storage,
    although `detect_spec` reads "come with" as what is in the box)."""
    pattern = _PATTERNS.get(key)
    text = _spell_spec_words(normalise(question))
    return bool(pattern and pattern.search(text)) or detect_spec(question) == key
